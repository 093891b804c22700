// The condor-soap workflow with a gSOAP C++ client. Generate, compile and run:
//
//   wsdl2h -o condor.h http://127.0.0.1:8080/condorSchedd.wsdl http://127.0.0.1:8080/condorCollector.wsdl
//   soapcpp2 -1 -j -C -x -I/usr/share/gsoap/import condor.h      # -1: SOAP 1.1; -j: proxy classes
//   g++ -I. -o workflow condor_workflow.cpp soapC.cpp soapcondorScheddProxy.cpp -lgsoap++
//   ./workflow http://127.0.0.1:8080/
//
// (works the same from the original HTCondor WSDLs; one proxy serves both WSDLs' operations).
// Submits a job with a script, a text file and a binary file (64 KiB chunks), waits for it,
// fetches and compares its output, then holds, releases and removes a sleep job, removes its
// cluster and queries the collector. Prints "OK" last, or exits 1 with the reason.
// The job's Owner is $CONDOR_SOAP_OWNER or the current user.
// With credentials: CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... ./workflow http://127.0.0.1:8080/
// (soap->userid / soap->passwd: gSOAP sends HTTP Basic auth preemptively; set again before every call).
#include "soapcondorScheddProxy.h"
#include "condorSchedd.nsmap"
#include <unistd.h>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

static const int CHUNK = 64 * 1024;
static const std::string SCRIPT = "#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n";
static const std::string TEXT = "Hello from a condor-soap client.\nThe job upper-cases this line.\n";

static condorScheddProxy *schedd;
static const char *user, *password;  // HTTP Basic credentials; user null: anonymous

// gSOAP clears soap->userid/passwd when it parses an HTTP response: set them for each call
static void authenticate() {
    schedd->soap->userid = user;
    schedd->soap->passwd = password;
}

[[noreturn]] static void fail(const std::string &why) {
    std::cout << "FAILED: " << why << std::endl;
    std::exit(1);
}

// a transport or SOAP fault ends the program; so does a Status other than SUCCESS
static void call(int result, const std::string &what) {
    if (result != SOAP_OK) {
        schedd->soap_stream_fault(std::cerr);
        fail(what + ": SOAP error " + std::to_string(result));
    }
    authenticate();  // for the next call
}
static void check(ns1__Status *status, const std::string &what) {
    if (status->code != ns1__StatusCode__SUCCESS)
        fail(what + ": " + soap_ns1__StatusCode2s(schedd->soap, status->code) + " " + (status->message ? *status->message : ""));
}

static std::vector<unsigned char> binary_input() {  // 3 full chunks and a bit: every byte value
    std::vector<unsigned char> data(3 * CHUNK + 4321);
    for (size_t i = 0; i < data.size(); i++) data[i] = (unsigned char) ((i * 7 + (i >> 8)) & 0xff);
    return data;
}

static void upload(ns1__Transaction *txn, int cluster, int proc, std::string name, std::vector<unsigned char> data) {
    _ns1__declareFile declare;
    declare.transaction = txn; declare.clusterId = cluster; declare.jobId = proc;
    declare.name = &name; declare.size = (int) data.size(); declare.hashType = ns1__HashType__NOHASH;
    _ns1__declareFileResponse declared;
    call(schedd->declareFile(&declare, declared), "declareFile " + name);
    check(declared.response, "declareFile " + name);
    for (size_t offset = 0; offset < data.size(); offset += CHUNK) {
        xsd__base64Binary chunk;
        chunk.__ptr = data.data() + offset;
        chunk.__size = (int) std::min(data.size() - offset, (size_t) CHUNK);
        _ns1__sendFile send;
        send.transaction = txn; send.clusterId = cluster; send.jobId = proc;
        send.name = &name; send.offset = (int) offset; send.data = &chunk;
        _ns1__sendFileResponse sent;
        call(schedd->sendFile(&send, sent), "sendFile " + name);
        check(sent.response, "sendFile " + name);
    }
}

static std::vector<unsigned char> download(int cluster, int proc, std::string name, long long size) {
    std::vector<unsigned char> out;
    while ((long long) out.size() < size) {
        _ns1__getFile get;
        get.clusterId = cluster; get.jobId = proc; get.name = &name;
        get.offset = (int) out.size(); get.length = (int) std::min<long long>(CHUNK, size - out.size());
        _ns1__getFileResponse got;
        call(schedd->getFile(&get, got), "getFile " + name);
        check(got.response->status, "getFile " + name);
        if (!got.response->data || got.response->data->__size == 0) fail("getFile " + name + ": no data");
        out.insert(out.end(), got.response->data->__ptr, got.response->data->__ptr + got.response->data->__size);
    }
    return out;
}

static std::map<std::string, std::string> attrs(ns1__ClassAdStruct *ad) {
    std::map<std::string, std::string> map;
    for (ns1__ClassAdStructAttr *a : ad->item) map[a->name] = a->value;
    return map;
}

// JobStatus of a job, or "gone" once it has left the queue
static std::string job_status(int cluster, int proc) {
    _ns1__getJobAd get;
    get.clusterId = cluster; get.jobId = proc;
    _ns1__getJobAdResponse got;
    call(schedd->getJobAd(&get, got), "getJobAd");
    if (got.response->status->code == ns1__StatusCode__UNKNOWNJOB) return "gone";
    check(got.response->status, "getJobAd");
    return attrs(got.response->classAd)["JobStatus"];
}

static std::string wait_status(int cluster, int proc, std::set<std::string> wanted) {
    for (int tries = 0; tries < 480; tries++) {  // 2 minutes
        std::string status = job_status(cluster, proc);
        if (wanted.count(status)) return status;
        if (status == "5") fail("job " + std::to_string(cluster) + "." + std::to_string(proc) + " was held");
        usleep(250000);
    }
    fail("job " + std::to_string(cluster) + "." + std::to_string(proc) + " did not reach the expected JobStatus");
}

static std::vector<ns1__ClassAdStruct *> job_ads(std::string constraint) {
    _ns1__getJobAds get;
    get.constraint = &constraint;
    _ns1__getJobAdsResponse got;
    call(schedd->getJobAds(&get, got), "getJobAds");
    check(got.response->status, "getJobAds " + constraint);
    return got.response->classAdArray ? got.response->classAdArray->item : std::vector<ns1__ClassAdStruct *>();
}

static int new_cluster(ns1__Transaction *txn) {
    _ns1__newCluster nc; nc.transaction = txn;
    _ns1__newClusterResponse ncr;
    call(schedd->newCluster(&nc, ncr), "newCluster");
    check(ncr.response->status, "newCluster");
    return *ncr.response->integer;
}

// add a job to a cluster; returns its template (gSOAP keeps it in the context's memory)
static ns1__ClassAdStruct *new_job(ns1__Transaction *txn, int cluster, int *proc, std::string owner, std::string cmd, std::string *args) {
    _ns1__newJob nj; nj.transaction = txn; nj.clusterId = cluster;
    _ns1__newJobResponse njr;
    call(schedd->newJob(&nj, njr), "newJob");
    check(njr.response->status, "newJob");
    *proc = *njr.response->integer;
    _ns1__createJobTemplate t;
    t.clusterId = cluster; t.jobId = *proc; t.owner = &owner; t.type = ns1__UniverseType__VANILLA;
    t.cmd = &cmd; t.args = args;
    _ns1__createJobTemplateResponse tr;
    call(schedd->createJobTemplate(&t, tr), "createJobTemplate");
    check(tr.response->status, "createJobTemplate");
    return tr.response->classAd;
}

static void submit(ns1__Transaction *txn, int cluster, int proc, ns1__ClassAdStruct *ad) {
    _ns1__submit s; s.transaction = txn; s.clusterId = cluster; s.jobId = proc; s.jobAd = ad;
    _ns1__submitResponse sr;
    call(schedd->submit(&s, sr), "submit");
    check(sr.response->status, "submit");
}

static ns1__Transaction *begin() {
    _ns1__beginTransaction b; b.duration = 60;
    _ns1__beginTransactionResponse *br = soap_new__ns1__beginTransactionResponse(schedd->soap);
    call(schedd->beginTransaction(&b, *br), "beginTransaction");
    check(br->response->status, "beginTransaction");
    return br->response->transaction;
}

static void commit(ns1__Transaction *txn) {
    _ns1__commitTransaction c; c.transaction = txn;
    _ns1__commitTransactionResponse cr;
    call(schedd->commitTransaction(&c, cr), "commitTransaction");
    check(cr.response, "commitTransaction");
}

int main(int argc, char **argv) {
    std::string url = argv[1];
    const char *env_owner = std::getenv("CONDOR_SOAP_OWNER");
    std::string owner = env_owner ? env_owner : (std::getenv("USER") ? std::getenv("USER") : "nobody");
    // the WSDL's soap:address may be anything (http://localhost:80 in the original): set the endpoint
    schedd = new condorScheddProxy(url.c_str(), SOAP_C_UTFSTRING);
    if (std::getenv("CONDOR_SOAP_USER") && *std::getenv("CONDOR_SOAP_USER")) {  // else anonymous
        user = std::getenv("CONDOR_SOAP_USER");
        password = std::getenv("CONDOR_SOAP_PASSWORD") ? std::getenv("CONDOR_SOAP_PASSWORD") : "";
    }
    authenticate();

    _ns1__getVersionString v;
    _ns1__getVersionStringResponse vr;
    call(schedd->getVersionString(&v, vr), "getVersionString");
    check(vr.response->status, "getVersionString");
    if (!vr.response->message || vr.response->message->rfind("$CondorVersion:", 0) != 0) fail("getVersionString");
    std::cout << "getVersionString -> " << *vr.response->message << std::endl;

    // 1. one job with input files, in one transaction
    ns1__Transaction *txn = begin();
    int cluster = new_cluster(txn), proc;
    ns1__ClassAdStruct *ad = new_job(txn, cluster, &proc, owner, "job.sh", nullptr);
    std::vector<unsigned char> binary = binary_input();
    upload(txn, cluster, proc, "job.sh", std::vector<unsigned char>(SCRIPT.begin(), SCRIPT.end()));
    upload(txn, cluster, proc, "input.txt", std::vector<unsigned char>(TEXT.begin(), TEXT.end()));
    upload(txn, cluster, proc, "input.bin", binary);
    submit(txn, cluster, proc, ad);
    commit(txn);
    std::cout << "submitted job " << cluster << "." << proc << " with 3 files" << std::endl;

    std::cout << "JobStatus " << wait_status(cluster, proc, {"4"}) << std::endl;
    _ns1__listSpool ls; ls.clusterId = cluster; ls.jobId = proc;
    _ns1__listSpoolResponse lsr;
    call(schedd->listSpool(&ls, lsr), "listSpool");
    check(lsr.response->status, "listSpool");
    std::map<std::string, long long> sizes;
    for (ns1__FileInfo *f : lsr.response->info->item) sizes[f->name] = f->size;
    std::cout << "listSpool ->";
    for (auto &kv : sizes) std::cout << " " << kv.first << "=" << kv.second;
    std::cout << std::endl;
    if (!sizes.count("output.bin") || !sizes.count("output.txt")) fail("outputs missing from the spool");
    if (download(cluster, proc, "output.bin", sizes["output.bin"]) != binary) fail("output.bin differs from input.bin");
    std::vector<unsigned char> upper = download(cluster, proc, "output.txt", sizes["output.txt"]);
    std::string expected = TEXT;
    for (char &ch : expected) ch = (char) toupper(ch);
    if (std::string(upper.begin(), upper.end()) != expected) fail("output.txt differs");
    _ns1__closeSpool cs; cs.clusterId = cluster; cs.jobId = proc;
    _ns1__closeSpoolResponse csr;
    call(schedd->closeSpool(&cs, csr), "closeSpool");
    check(csr.response, "closeSpool");
    std::cout << "outputs verified, spool closed" << std::endl;

    // 2. two sleep jobs: hold, release and remove the first, then remove the whole cluster
    txn = begin();
    int sleepers = new_cluster(txn);
    std::string seconds = "300";
    for (int i = 0; i < 2; i++) {
        int j;
        ns1__ClassAdStruct *t = new_job(txn, sleepers, &j, owner, "/bin/sleep", &seconds);
        submit(txn, sleepers, j, t);
    }
    commit(txn);
    std::string reason = "done by the client";
    _ns1__holdJob h; h.clusterId = sleepers; h.jobId = 0; h.reason = &reason;
    h.email_user = h.email_admin = h.system_hold = false;
    _ns1__holdJobResponse hr;
    call(schedd->holdJob(&h, hr), "holdJob");
    check(hr.response, "holdJob");
    std::cout << "held: JobStatus " << wait_status(sleepers, 0, {"5"}) << std::endl;
    _ns1__releaseJob r; r.clusterId = sleepers; r.jobId = 0; r.reason = &reason; r.email_user = r.email_admin = false;
    _ns1__releaseJobResponse rr;
    call(schedd->releaseJob(&r, rr), "releaseJob");
    check(rr.response, "releaseJob");
    std::cout << "released: JobStatus " << wait_status(sleepers, 0, {"1", "2"}) << std::endl;
    _ns1__removeJob rm; rm.clusterId = sleepers; rm.jobId = 0; rm.reason = &reason; rm.force_removal = false;
    _ns1__removeJobResponse rmr;
    call(schedd->removeJob(&rm, rmr), "removeJob");
    check(rmr.response, "removeJob");
    std::cout << "removed: " << wait_status(sleepers, 0, {"3", "gone"}) << std::endl;

    std::vector<ns1__ClassAdStruct *> ads = job_ads("ClusterId == " + std::to_string(sleepers) + " && ProcId == 1");
    if (ads.size() != 1 || attrs(ads[0])["ProcId"] != "1") fail("getJobAds: " + std::to_string(ads.size()) + " ads");
    _ns1__removeCluster rc; rc.clusterId = sleepers; rc.reason = &reason;
    _ns1__removeClusterResponse rcr;
    call(schedd->removeCluster(&rc, rcr), "removeCluster");
    check(rcr.response, "removeCluster");
    for (int tries = 0; !job_ads("ClusterId == " + std::to_string(sleepers) + " && JobStatus != 3").empty(); tries++) {
        if (tries > 240) fail("removeCluster: jobs left");
        usleep(250000);
    }
    std::cout << "cluster " << sleepers << " removed" << std::endl;

    // 3. the collector answers the ads themselves, with no Status
    std::string all = "", soap_schedds = "HasSOAPInterface =?= TRUE";
    _ns1__queryStartdAds qs; qs.constraint = &all;
    _ns1__queryStartdAdsResponse qsr;
    call(schedd->queryStartdAds(&qs, qsr), "queryStartdAds");
    _ns1__queryScheddAds qd; qd.constraint = &soap_schedds;
    _ns1__queryScheddAdsResponse qdr;
    call(schedd->queryScheddAds(&qd, qdr), "queryScheddAds");
    if (!qsr.result || qsr.result->item.empty() || !qdr.result || qdr.result->item.empty()) fail("collector: no ads");
    std::cout << "collector: " << qsr.result->item.size() << " startd ads, " << qdr.result->item.size() << " schedd ads" << std::endl;
    std::cout << "OK" << std::endl;
    schedd->destroy();
    return 0;
}
