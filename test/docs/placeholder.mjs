// Prints what `<name>` stands for in a doc block: the newest object of that
// kind on the node (EVGUARD_API, TOKEN), as a reader copies it from the
// output of the command before. Run by the doc test when the line runs.
const name = process.argv[2];
const api = async (p) => (await fetch(new URL(p, process.env.EVGUARD_API), { headers: { authorization: `Bearer ${process.env.TOKEN}` } })).json();
const resolvers = {
  stationId: async () => {
    const list = await api('/api/v1/stations');
    return (list.find((s) => s.connected) ?? list[0])?.id;
  },
  firmwareId: async () => (await api('/api/v1/firmware'))[0]?.id,
  campaignId: async () => (await api('/api/v1/campaigns'))[0]?.id,
  serial: async () => {
    const certs = await api('/api/v1/certificates');
    return certs.filter((c) => c.kind === 'station').at(-1)?.serialHex;
  },
};
const resolve = resolvers[name];
const value = resolve ? await resolve() : undefined;
if (!value) {
  process.stderr.write(resolve ? `doc test: nothing on the node for <${name}> yet\n` : `doc test: unknown placeholder <${name}> (known: ${Object.keys(resolvers).join(', ')})\n`);
  process.exit(1);
}
process.stdout.write(String(value));
