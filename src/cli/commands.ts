/** Every `evguard` subcommand, mounted in one place. */
import { Command } from 'commander';
import { strictExits } from './exit.js';
import { serveCommand } from './serve.js';
import { simCommand } from './sim.js';
import { demoCommand } from './demo.js';
import { probeCommand } from '../probe/cli.js';
import { probeStationCommand } from '../probe/station-cli.js';
import { assessCommand } from '../assess/cli.js';
import { VERSION } from '../app.js';
import { firmwareCommand } from '../firmware/cli.js';
import { createIntelCommand } from '../intel/cli.js';
import { openIntelNode } from './intel-node.js';
import { createPkiCommand } from '../trust/cli.js';

export function buildCli(): Command {
  const program = new Command('evguard')
    .description('Security-first charging station management system (CSMS) for EV charging networks')
    .version(VERSION)
    // Options after a subcommand's name belong to it: `firmware upload --version 1.1.0` is the image's version, not evguard's.
    .enablePositionalOptions()
    .addCommand(serveCommand())
    .addCommand(simCommand())
    .addCommand(demoCommand())
    .addCommand(createIntelCommand({ open: openIntelNode }))
    .addCommand(firmwareCommand())
    .addCommand(createPkiCommand())
    .addCommand(probeCommand())
    .addCommand(probeStationCommand())
    .addCommand(assessCommand());
  return strictExits(program);
}
