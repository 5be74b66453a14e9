/**
 * Console details a first look trips over, in Debian's chromium against a
 * real node: the favicon, the Alerts view's empty half, a revocation on the
 * station timeline, chart legends without placeholder values.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSimStation } from '../../src/sim/index.js';
import { startTestNode } from '../support/node.js';
import { makeCsr } from '../trust/fixture.js';
import { ensureConsoleBuilt, launch, watchProblems } from './support.js';

test('favicon, alerts hint, revocation on the timeline, legends without "--"', { timeout: 400_000 }, async () => {
  ensureConsoleBuilt();
  const node = await startTestNode({ db: 'sqlite' });
  const browser = await launch();
  try {
    const icon = await fetch(`${node.http}/favicon.ico`);
    assert.equal(icon.status, 200);
    assert.match(icon.headers.get('content-type') ?? '', /^image\//);

    // A station whose certificate was revoked for key compromise, and one charging with a single meter reading.
    assert.equal((await node.api('POST', '/api/v1/stations', { id: 'CS-REV', securityProfile: 2, password: 'rough-edges-password-1' })).status, 201);
    const { csrPem } = await makeCsr('CN=CS-REV, O=evguard');
    const issued = await node.app.trust.signStationCsr({ csrPem, stationId: 'CS-REV' });
    assert.equal((await node.api('POST', `/api/v1/certificates/${issued.serialHex}/revoke`, { reason: 'keyCompromise' })).status, 200);
    const password = 'rough-edges-password-2';
    assert.equal((await node.api('POST', '/api/v1/stations', { id: 'CS-MV', securityProfile: 1, password })).status, 201);
    await node.api('PUT', '/api/v1/id-tokens/ROUGHTAG01', { status: 'Accepted' });
    const station = createSimStation({ url: node.ws, id: 'CS-MV', ocppVersion: '2.0.1', securityProfile: 1, password, pingIntervalMs: 0 });
    await station.connect();
    await station.startCharging({ connectorId: 1, idToken: 'ROUGHTAG01' });
    await station.sendMeterValues(1);

    const page = await (await browser.newContext({ viewport: { width: 1366, height: 860 } })).newPage();
    const problems = watchProblems(page);
    await page.goto(`${node.http}/`);
    await page.getByLabel('API token').fill(node.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByTestId('alert-hint').filter({ hasText: 'Choose an alert' }).waitFor();

    await page.goto(`${node.http}/#/station/CS-REV`);
    await page.getByText('Certificate revoked (keyCompromise)').waitFor();

    await page.goto(`${node.http}/#/station/CS-MV`);
    const legend = page.locator('.u-legend').first();
    await legend.waitFor();
    assert.doesNotMatch(await legend.innerText(), /--/);
    await station.close();
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await node.stop();
  }
});
