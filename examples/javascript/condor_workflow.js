// The condor-soap workflow with the node `soap` package (npm install soap):
//
//   node condor_workflow.js http://127.0.0.1:8080/ [condorSchedd.wsdl condorCollector.wsdl]
//
// The WSDLs default to the ones the service serves; the original HTCondor WSDLs work the same.
// Submits a job with a script, a text file and a binary file (64 KiB chunks), waits for it,
// fetches and compares its output, then holds, releases and removes a sleep job, removes its
// cluster and queries the collector. Prints "OK" last, or exits 1 with the reason.
// The job's Owner is $CONDOR_SOAP_OWNER or the current user. With credentials:
//   CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... node condor_workflow.js http://127.0.0.1:8080/
// sends HTTP Basic auth on every call, preemptively (client.setSecurity(new BasicAuthSecurity(...))).
'use strict';
const os = require('os');

const CHUNK = 64 * 1024;
const SCRIPT = '#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n';
const TEXT = 'Hello from a condor-soap client.\nThe job upper-cases this line.\n';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Failure extends Error {}

// every schedd answer carries a Status; anything but SUCCESS ends the program
function check(status, what) {
  if (status.code !== 'SUCCESS') throw new Failure(`${what}: ${status.code} ${status.message || ''}`);
}

// How this program uses the node `soap` package; tests/clients/strong-soap runs the same
// workflow with another stack of this shape.
const nodeSoap = {
  // the WSDL's soap:address may be anything (http://localhost:80 in the original): set the endpoint;
  // credentials ({ user, password } or null) go as an Authorization header on every request
  connect: async (wsdl, endpoint, credentials) => {
    const soap = require('soap');
    const client = await soap.createClientAsync(wsdl, { endpoint });
    if (credentials) client.setSecurity(new soap.BasicAuthSecurity(credentials.user, credentials.password));
    return client;
  },
  // soap answers [result, raw response, ...]; the result is the operation's response wrapper
  invoke: async (client, op, args = {}) => (await client[op + 'Async'](args))[0],
};

const items = (array) => (array && array.item) || [];
const attrs = (ad) => Object.fromEntries(items(ad).map((a) => [a.name, a.value]));

async function main(stack) {
  // a schedd operation's wrapper holds <response>
  const call = async (client, op, args = {}) => (await stack.invoke(client, op, args)).response;
  const url = process.argv[2];
  const scheddWsdl = process.argv[3] || url + 'condorSchedd.wsdl';
  const collectorWsdl = process.argv[4] || url + 'condorCollector.wsdl';
  const owner = process.env.CONDOR_SOAP_OWNER || os.userInfo().username;
  // HTTP Basic auth when $CONDOR_SOAP_USER is set, else anonymous
  const credentials = process.env.CONDOR_SOAP_USER
    ? { user: process.env.CONDOR_SOAP_USER, password: process.env.CONDOR_SOAP_PASSWORD || '' } : null;
  const schedd = await stack.connect(scheddWsdl, url, credentials);
  const collector = await stack.connect(collectorWsdl, url, credentials);

  const upload = async (txn, clusterId, jobId, name, data) => {
    check(await call(schedd, 'declareFile', { transaction: txn, clusterId, jobId, name, size: data.length, hashType: 'NOHASH' }),
          `declareFile ${name}`);
    for (let offset = 0; offset < data.length; offset += CHUNK) {
      const chunk = data.subarray(offset, offset + CHUNK).toString('base64'); // base64Binary goes as text
      check(await call(schedd, 'sendFile', { transaction: txn, clusterId, jobId, name, offset, data: chunk }), `sendFile ${name}`);
    }
  };
  const download = async (clusterId, jobId, name, size) => {
    const parts = [];
    let got = 0;
    while (got < size) {
      const r = await call(schedd, 'getFile', { clusterId, jobId, name, offset: got, length: Math.min(CHUNK, size - got) });
      check(r.status, `getFile ${name}`);
      const data = Buffer.from(r.data || '', 'base64');
      if (data.length === 0) throw new Failure(`getFile ${name}: no data`);
      parts.push(data);
      got += data.length;
    }
    return Buffer.concat(parts);
  };
  // JobStatus of a job, or "gone" once it has left the queue
  const jobStatus = async (clusterId, jobId) => {
    const r = await call(schedd, 'getJobAd', { clusterId, jobId });
    if (r.status.code === 'UNKNOWNJOB') return 'gone';
    check(r.status, 'getJobAd');
    return attrs(r.classAd).JobStatus;
  };
  const waitStatus = async (clusterId, jobId, wanted) => {
    const deadline = Date.now() + 120000;
    for (;;) {
      const status = await jobStatus(clusterId, jobId);
      if (wanted.includes(status)) return status;
      if (status === '5') throw new Failure(`job ${clusterId}.${jobId} was held`);
      if (Date.now() > deadline) throw new Failure(`job ${clusterId}.${jobId} stays in JobStatus ${status}`);
      await sleep(250);
    }
  };
  const jobAds = async (constraint) => {
    const r = await call(schedd, 'getJobAds', { constraint });
    check(r.status, `getJobAds ${constraint}`);
    return items(r.classAdArray);
  };
  const newJob = async (transaction, clusterId, cmd, args) => {
    const job = await call(schedd, 'newJob', { transaction, clusterId });
    check(job.status, 'newJob');
    const t = await call(schedd, 'createJobTemplate', { clusterId, jobId: job.integer, owner, type: 'VANILLA', cmd, args });
    check(t.status, 'createJobTemplate');
    // an empty <value></value> reads as undefined: send it back as ""
    return [job.integer, { item: items(t.classAd).map((a) => ({ name: a.name, type: a.type, value: a.value || '' })) }];
  };

  const version = await call(schedd, 'getVersionString');
  check(version.status, 'getVersionString');
  if (!version.message.startsWith('$CondorVersion:')) throw new Failure(`getVersionString: ${version.message}`);
  console.log(`getVersionString -> ${version.message}`);

  // 1. one job with input files, in one transaction
  const begun = await call(schedd, 'beginTransaction', { duration: 60 });
  check(begun.status, 'beginTransaction');
  let txn = begun.transaction;
  const c = await call(schedd, 'newCluster', { transaction: txn });
  check(c.status, 'newCluster');
  const cluster = c.integer;
  const [proc, ad] = await newJob(txn, cluster, 'job.sh');
  const binary = Buffer.alloc(3 * CHUNK + 4321);
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 7 + (i >> 8)) & 0xff;
  await upload(txn, cluster, proc, 'job.sh', Buffer.from(SCRIPT));
  await upload(txn, cluster, proc, 'input.txt', Buffer.from(TEXT));
  await upload(txn, cluster, proc, 'input.bin', binary);
  check((await call(schedd, 'submit', { transaction: txn, clusterId: cluster, jobId: proc, jobAd: ad })).status, 'submit');
  check(await call(schedd, 'commitTransaction', { transaction: txn }), 'commitTransaction');
  console.log(`submitted job ${cluster}.${proc} with 3 files`);

  console.log(`JobStatus ${await waitStatus(cluster, proc, ['4'])}`);
  const spool = await call(schedd, 'listSpool', { clusterId: cluster, jobId: proc });
  check(spool.status, 'listSpool');
  const sizes = Object.fromEntries(items(spool.info).map((f) => [f.name, Number(f.size)]));
  console.log(`listSpool -> ${JSON.stringify(sizes)}`);
  if (!('output.bin' in sizes) || !('output.txt' in sizes)) throw new Failure('outputs missing from the spool');
  if (!(await download(cluster, proc, 'output.bin', sizes['output.bin'])).equals(binary)) throw new Failure('output.bin differs');
  const upper = (await download(cluster, proc, 'output.txt', sizes['output.txt'])).toString();
  if (upper !== TEXT.toUpperCase()) throw new Failure(`output.txt is ${upper}`);
  check(await call(schedd, 'closeSpool', { clusterId: cluster, jobId: proc }), 'closeSpool');
  console.log('outputs verified, spool closed');

  // 2. two sleep jobs: hold, release and remove the first, then remove the whole cluster
  txn = (await call(schedd, 'beginTransaction', { duration: 60 })).transaction;
  const sleepers = (await call(schedd, 'newCluster', { transaction: txn })).integer;
  for (let i = 0; i < 2; i++) {
    const [j, t] = await newJob(txn, sleepers, '/bin/sleep', '300');
    check((await call(schedd, 'submit', { transaction: txn, clusterId: sleepers, jobId: j, jobAd: t })).status, 'submit');
  }
  check(await call(schedd, 'commitTransaction', { transaction: txn }), 'commitTransaction');
  const first = { clusterId: sleepers, jobId: 0 };
  check(await call(schedd, 'holdJob', { ...first, reason: 'held', 'email-user': false, 'email-admin': false, 'system-hold': false }), 'holdJob');
  console.log(`held: JobStatus ${await waitStatus(sleepers, 0, ['5'])}`);
  check(await call(schedd, 'releaseJob', { ...first, reason: 'released', 'email-user': false, 'email-admin': false }), 'releaseJob');
  console.log(`released: JobStatus ${await waitStatus(sleepers, 0, ['1', '2'])}`);
  check(await call(schedd, 'removeJob', { ...first, reason: 'removed', 'force-removal': false }), 'removeJob');
  console.log(`removed: ${await waitStatus(sleepers, 0, ['3', 'gone'])}`);

  const ads = await jobAds(`ClusterId == ${sleepers} && ProcId == 1`);
  if (ads.length !== 1 || attrs(ads[0]).ProcId !== '1') throw new Failure(`getJobAds: ${ads.length} ads`);
  check(await call(schedd, 'removeCluster', { clusterId: sleepers, reason: 'removed by the client' }), 'removeCluster');
  const deadline = Date.now() + 60000;
  while ((await jobAds(`ClusterId == ${sleepers} && JobStatus != 3`)).length > 0) {
    if (Date.now() > deadline) throw new Failure('removeCluster: jobs left');
    await sleep(250);
  }
  console.log(`cluster ${sleepers} removed`);

  // 3. the collector answers the ads themselves (<result>), with no Status
  const startds = await stack.invoke(collector, 'queryStartdAds', { constraint: '' });
  const schedds = await stack.invoke(collector, 'queryScheddAds', { constraint: 'HasSOAPInterface =?= TRUE' });
  if (!items(startds.result).length || !items(schedds.result).length) throw new Failure('collector: no ads');
  console.log(`collector: ${items(startds.result).length} startd ads, ${items(schedds.result).length} schedd ads`);
  console.log('OK');
}

function run(stack) {
  main(stack).catch((error) => {
    console.log(`FAILED: ${error instanceof Failure ? error.message : error.stack}`);
    process.exit(1);
  });
}

module.exports = { run };
if (require.main === module) run(nodeSoap);
