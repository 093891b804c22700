// The client-matrix workflow with wsdl-tsclient's typed clients (over node soap):
//   generate.sh NODE_DIR condorSchedd.wsdl condorCollector.wsdl && tsc -p . && node dist/workflow.js URL
// Same steps as examples/javascript/condor_workflow.js; prints "OK" last or exits 1.
// With credentials: CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... node dist/workflow.js URL
// sends HTTP Basic auth on every call, preemptively (node soap's client.setSecurity(new BasicAuthSecurity(...))).
import * as os from "os";
import { BasicAuthSecurity } from "soap";
import { createClientAsync as createSchedd, CondorScheddClient, Status, Transaction, JobAd } from "./generated/condorschedd";
import { createClientAsync as createCollector } from "./generated/condorcollector";

const CHUNK = 64 * 1024;
const SCRIPT = "#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n";
const TEXT = "Hello from a condor-soap client.\nThe job upper-cases this line.\n";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Failure extends Error {}

function check(status: Status | undefined, what: string): void {
  if (!status || status.code !== "SUCCESS") throw new Failure(`${what}: ${status?.code} ${status?.message ?? ""}`);
}

type Ad = { item?: Array<{ name?: string; type?: string; value?: string }> };
const attrs = (ad: Ad | undefined): Record<string, string> =>
  Object.fromEntries((ad?.item ?? []).map((a) => [a.name ?? "", a.value ?? ""]));

async function main(): Promise<void> {
  const url = process.argv[2];
  const owner = process.env.CONDOR_SOAP_OWNER || os.userInfo().username;
  // generated from WSDL files; every call goes to the service URL
  const schedd: CondorScheddClient = await createSchedd(process.argv[3] || url + "condorSchedd.wsdl", { endpoint: url });
  const collector = await createCollector(process.argv[4] || url + "condorCollector.wsdl", { endpoint: url });
  // HTTP Basic auth when $CONDOR_SOAP_USER is set, else anonymous
  if (process.env.CONDOR_SOAP_USER) {
    for (const client of [schedd, collector])
      client.setSecurity(new BasicAuthSecurity(process.env.CONDOR_SOAP_USER, process.env.CONDOR_SOAP_PASSWORD ?? ""));
  }

  const upload = async (transaction: Transaction, clusterId: number, jobId: number, name: string, data: Buffer) => {
    const [declared] = await schedd.declareFileAsync({ transaction, clusterId, jobId, name, size: data.length, hashType: "NOHASH" });
    check(declared.response, `declareFile ${name}`);
    for (let offset = 0; offset < data.length; offset += CHUNK) {
      const chunk = data.subarray(offset, offset + CHUNK).toString("base64"); // typed as string
      const [sent] = await schedd.sendFileAsync({ transaction, clusterId, jobId, name, offset, data: chunk });
      check(sent.response, `sendFile ${name}`);
    }
  };
  const download = async (clusterId: number, jobId: number, name: string, size: number) => {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < size) {
      const [r] = await schedd.getFileAsync({ clusterId, jobId, name, offset: got, length: Math.min(CHUNK, size - got) });
      check(r.response?.status, `getFile ${name}`);
      const data = Buffer.from(r.response?.data ?? "", "base64");
      if (data.length === 0) throw new Failure(`getFile ${name}: no data`);
      parts.push(data);
      got += data.length;
    }
    return Buffer.concat(parts);
  };
  const jobStatus = async (clusterId: number, jobId: number) => {
    const [r] = await schedd.getJobAdAsync({ clusterId, jobId });
    if (r.response?.status?.code === "UNKNOWNJOB") return "gone";
    check(r.response?.status, "getJobAd");
    return attrs(r.response?.classAd).JobStatus;
  };
  const waitStatus = async (clusterId: number, jobId: number, wanted: string[]) => {
    const deadline = Date.now() + 120000;
    for (;;) {
      const status = await jobStatus(clusterId, jobId);
      if (wanted.includes(status)) return status;
      if (status === "5") throw new Failure(`job ${clusterId}.${jobId} was held`);
      if (Date.now() > deadline) throw new Failure(`job ${clusterId}.${jobId} stays in JobStatus ${status}`);
      await sleep(250);
    }
  };
  const jobAds = async (constraint: string) => {
    const [r] = await schedd.getJobAdsAsync({ constraint });
    check(r.response?.status, `getJobAds ${constraint}`);
    return r.response?.classAdArray?.item ?? [];
  };
  const newJob = async (transaction: Transaction, clusterId: number, cmd: string, args?: string): Promise<[number, JobAd]> => {
    const [job] = await schedd.newJobAsync({ transaction, clusterId });
    check(job.response?.status, "newJob");
    const jobId = job.response?.integer ?? -1;
    const [t] = await schedd.createJobTemplateAsync({ clusterId, jobId, owner, type: "VANILLA", cmd, args });
    check(t.response?.status, "createJobTemplate");
    const item = (t.response?.classAd?.item ?? []).map((a) => ({ name: a.name, type: a.type, value: a.value ?? "" }));
    return [jobId, { item }];
  };

  const [version] = await schedd.getVersionStringAsync({});
  check(version.response?.status, "getVersionString");
  const message = version.response?.message ?? "";
  if (!message.startsWith("$CondorVersion:")) throw new Failure(`getVersionString: ${message}`);
  console.log(`getVersionString -> ${message}`);

  const [begun] = await schedd.beginTransactionAsync({ duration: 60 });
  check(begun.response?.status, "beginTransaction");
  let txn: Transaction = begun.response?.transaction ?? {};
  const [c] = await schedd.newClusterAsync({ transaction: txn });
  check(c.response?.status, "newCluster");
  const cluster = c.response?.integer ?? -1;
  const [proc, ad] = await newJob(txn, cluster, "job.sh");
  const binary = Buffer.alloc(3 * CHUNK + 4321);
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 7 + (i >> 8)) & 0xff;
  await upload(txn, cluster, proc, "job.sh", Buffer.from(SCRIPT));
  await upload(txn, cluster, proc, "input.txt", Buffer.from(TEXT));
  await upload(txn, cluster, proc, "input.bin", binary);
  check((await schedd.submitAsync({ transaction: txn, clusterId: cluster, jobId: proc, jobAd: ad }))[0].response?.status, "submit");
  check((await schedd.commitTransactionAsync({ transaction: txn }))[0].response, "commitTransaction");
  console.log(`submitted job ${cluster}.${proc} with 3 files`);

  console.log(`JobStatus ${await waitStatus(cluster, proc, ["4"])}`);
  const [spool] = await schedd.listSpoolAsync({ clusterId: cluster, jobId: proc });
  check(spool.response?.status, "listSpool");
  const sizes: Record<string, number> = Object.fromEntries((spool.response?.info?.item ?? []).map((f) => [f.name ?? "", Number(f.size)]));
  console.log(`listSpool -> ${JSON.stringify(sizes)}`);
  if (!("output.bin" in sizes) || !("output.txt" in sizes)) throw new Failure("outputs missing from the spool");
  if (!(await download(cluster, proc, "output.bin", sizes["output.bin"])).equals(binary)) throw new Failure("output.bin differs");
  const upper = (await download(cluster, proc, "output.txt", sizes["output.txt"])).toString();
  if (upper !== TEXT.toUpperCase()) throw new Failure(`output.txt is ${upper}`);
  check((await schedd.closeSpoolAsync({ clusterId: cluster, jobId: proc }))[0].response, "closeSpool");
  console.log("outputs verified, spool closed");

  txn = (await schedd.beginTransactionAsync({ duration: 60 }))[0].response?.transaction ?? {};
  const sleepers = (await schedd.newClusterAsync({ transaction: txn }))[0].response?.integer ?? -1;
  for (let i = 0; i < 2; i++) {
    const [j, t] = await newJob(txn, sleepers, "/bin/sleep", "300");
    check((await schedd.submitAsync({ transaction: txn, clusterId: sleepers, jobId: j, jobAd: t }))[0].response?.status, "submit");
  }
  check((await schedd.commitTransactionAsync({ transaction: txn }))[0].response, "commitTransaction");
  const first = { clusterId: sleepers, jobId: 0, "email-user": false, "email-admin": false };
  check((await schedd.holdJobAsync({ ...first, reason: "held", "system-hold": false }))[0].response, "holdJob");
  console.log(`held: JobStatus ${await waitStatus(sleepers, 0, ["5"])}`);
  check((await schedd.releaseJobAsync({ ...first, reason: "released" }))[0].response, "releaseJob");
  console.log(`released: JobStatus ${await waitStatus(sleepers, 0, ["1", "2"])}`);
  check((await schedd.removeJobAsync({ clusterId: sleepers, jobId: 0, reason: "removed", "force-removal": false }))[0].response, "removeJob");
  console.log(`removed: ${await waitStatus(sleepers, 0, ["3", "gone"])}`);

  const ads = await jobAds(`ClusterId == ${sleepers} && ProcId == 1`);
  if (ads.length !== 1 || attrs(ads[0]).ProcId !== "1") throw new Failure(`getJobAds: ${ads.length} ads`);
  check((await schedd.removeClusterAsync({ clusterId: sleepers, reason: "removed by the client" }))[0].response, "removeCluster");
  const deadline = Date.now() + 60000;
  while ((await jobAds(`ClusterId == ${sleepers} && JobStatus != 3`)).length > 0) {
    if (Date.now() > deadline) throw new Failure("removeCluster: jobs left");
    await sleep(250);
  }
  console.log(`cluster ${sleepers} removed`);

  const [startds] = await collector.queryStartdAdsAsync({ constraint: "" });
  const [schedds] = await collector.queryScheddAdsAsync({ constraint: "HasSOAPInterface =?= TRUE" });
  const found = [startds.result?.item?.length ?? 0, schedds.result?.item?.length ?? 0];
  if (!found[0] || !found[1]) throw new Failure("collector: no ads");
  console.log(`collector: ${found[0]} startd ads, ${found[1]} schedd ads`);
  console.log("OK");
}

main().catch((error) => {
  console.log(`FAILED: ${error instanceof Failure ? error.message : error.stack}`);
  process.exit(1);
});
