// The client-matrix workflow with KDSoap (Qt 5) generated classes.
//   kdwsdl2cpp -namespace Schedd -both schedd condorSchedd.wsdl
//   kdwsdl2cpp -namespace Collector -both collector condorCollector.wsdl
//   moc schedd.h -o moc_schedd.cpp; moc collector.h -o moc_collector.cpp
//   g++ -fPIC workflow.cpp schedd.cpp collector.cpp moc_*.cpp $(pkg-config --cflags --libs Qt5Core Qt5Network) -lkdsoap
// Both WSDLs share urn:condor, so each gets its own C++ namespace. Same steps as
// examples/cpp/condor_workflow.cpp; prints "OK" last or exits 1 with the reason.
// With credentials: CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... ./workflow URL (KDSoapAuthentication
// on both client interfaces; KDSoap 1.9 answers the 401 Basic challenge, then Qt reuses the credentials).
#include "schedd.h"
#include "collector.h"
#include <KDSoapAuthentication.h>
#include <QCoreApplication>
#include <QMap>
#include <QThread>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

using namespace Schedd;

static const int CHUNK = 64 * 1024;
static const QByteArray SCRIPT = "#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n";
static const QByteArray TEXT = "Hello from a condor-soap client.\nThe job upper-cases this line.\n";

static CondorSchedd *schedd;

[[noreturn]] static void fail(const QString &why) {
    printf("FAILED: %s\n", qPrintable(why));
    exit(1);
}

// a transport error or SOAP fault ends the program; so does a Status other than SUCCESS
static void check(const CONDOR__Status &status, const QString &what) {
    if (!schedd->lastError().isEmpty()) fail(what + ": " + schedd->lastError());
    if (status.code().type() != CONDOR__StatusCode::SUCCESS) fail(what + ": " + status.code().serialize("code").value().toString() + " " + status.message());
}

static QMap<QString, QString> attrs(const CONDOR__ClassAdStruct &ad) {
    QMap<QString, QString> map;
    for (const CONDOR__ClassAdStructAttr &a : ad.item()) map[a.name()] = a.value();
    return map;
}

static void upload(const CONDOR__Transaction &txn, int cluster, int proc, const QString &name, const QByteArray &data) {
    CONDOR__DeclareFile declare;
    declare.setTransaction(txn); declare.setClusterId(cluster); declare.setJobId(proc); declare.setName(name);
    declare.setSize(data.size()); declare.setHashType(CONDOR__HashType::NOHASH);
    check(schedd->declareFile(declare).response(), "declareFile " + name);
    for (int offset = 0; offset < data.size(); offset += CHUNK) {
        CONDOR__SendFile send;
        send.setTransaction(txn); send.setClusterId(cluster); send.setJobId(proc); send.setName(name);
        send.setOffset(offset); send.setData(data.mid(offset, CHUNK));
        check(schedd->sendFile(send).response(), "sendFile " + name);
    }
}

static QByteArray download(int cluster, int proc, const QString &name, qint64 size) {
    QByteArray out;
    while (out.size() < size) {
        CONDOR__GetFile get;
        get.setClusterId(cluster); get.setJobId(proc); get.setName(name);
        get.setOffset(out.size()); get.setLength((int) qMin<qint64>(CHUNK, size - out.size()));
        CONDOR__Base64DataAndStatus got = schedd->getFile(get).response();
        check(got.status(), "getFile " + name);
        if (got.data().isEmpty()) fail("getFile " + name + ": no data");
        out += got.data();
    }
    return out;
}

// JobStatus of a job, or "gone" once it has left the queue
static QString jobStatus(int cluster, int proc) {
    CONDOR__GetJobAd get;
    get.setClusterId(cluster); get.setJobId(proc);
    CONDOR__ClassAdStructAndStatus r = schedd->getJobAd(get).response();
    if (schedd->lastError().isEmpty() && r.status().code().type() == CONDOR__StatusCode::UNKNOWNJOB) return "gone";
    check(r.status(), "getJobAd");
    return attrs(r.classAd())["JobStatus"];
}

static QString waitStatus(int cluster, int proc, const QStringList &wanted) {
    for (int tries = 0; tries < 480; tries++) {
        QString status = jobStatus(cluster, proc);
        if (wanted.contains(status)) return status;
        if (status == "5") fail(QString("job %1.%2 was held").arg(cluster).arg(proc));
        QThread::msleep(250);
    }
    fail(QString("job %1.%2 did not reach JobStatus %3").arg(cluster).arg(proc).arg(wanted.join("/")));
}

static QList<CONDOR__ClassAdStruct> jobAds(const QString &constraint) {
    CONDOR__GetJobAds get;
    get.setConstraint(constraint);
    CONDOR__ClassAdStructArrayAndStatus r = schedd->getJobAds(get).response();
    check(r.status(), "getJobAds " + constraint);
    return r.classAdArray().item();
}

static CONDOR__Transaction begin() {
    CONDOR__BeginTransaction b;
    b.setDuration(60);
    CONDOR__TransactionAndStatus r = schedd->beginTransaction(b).response();
    check(r.status(), "beginTransaction");
    return r.transaction();
}

static void commit(const CONDOR__Transaction &txn) {
    CONDOR__CommitTransaction c;
    c.setTransaction(txn);
    check(schedd->commitTransaction(c).response(), "commitTransaction");
}

static int newCluster(const CONDOR__Transaction &txn) {
    CONDOR__NewCluster n;
    n.setTransaction(txn);
    CONDOR__IntAndStatus r = schedd->newCluster(n).response();
    check(r.status(), "newCluster");
    return r.integer();
}

// a new job of the cluster and its template
static int newJob(const CONDOR__Transaction &txn, int cluster, const QString &owner, const QString &cmd,
                  const QString &args, CONDOR__ClassAdStruct *ad) {
    CONDOR__NewJob n;
    n.setTransaction(txn); n.setClusterId(cluster);
    CONDOR__IntAndStatus job = schedd->newJob(n).response();
    check(job.status(), "newJob");
    CONDOR__CreateJobTemplate t;
    t.setClusterId(cluster); t.setJobId(job.integer()); t.setOwner(owner);
    t.setType(CONDOR__UniverseType::VANILLA); t.setCmd(cmd);
    if (!args.isNull()) t.setArgs(args);
    CONDOR__ClassAdStructAndStatus r = schedd->createJobTemplate(t).response();
    check(r.status(), "createJobTemplate");
    *ad = r.classAd();
    return job.integer();
}

static void submit(const CONDOR__Transaction &txn, int cluster, int proc, const CONDOR__ClassAdStruct &ad) {
    CONDOR__Submit s;
    s.setTransaction(txn); s.setClusterId(cluster); s.setJobId(proc); s.setJobAd(ad);
    check(schedd->submit(s).response().status(), "submit");
}

int main(int argc, char **argv) {
    QCoreApplication app(argc, argv);
    QString url = argv[1];
    QString owner = qEnvironmentVariable("CONDOR_SOAP_OWNER", qEnvironmentVariable("USER", "nobody"));
    schedd = new CondorSchedd;
    schedd->setEndPoint(url);  // the WSDL's soap:address may be anything
    Collector::CondorCollector collector;
    collector.setEndPoint(url);
    if (!qEnvironmentVariableIsEmpty("CONDOR_SOAP_USER")) {  // else anonymous
        KDSoapAuthentication auth;
        auth.setUser(qEnvironmentVariable("CONDOR_SOAP_USER"));
        auth.setPassword(qEnvironmentVariable("CONDOR_SOAP_PASSWORD"));
        schedd->clientInterface()->setAuthentication(auth);
        collector.clientInterface()->setAuthentication(auth);
    }

    CONDOR__StringAndStatus version = schedd->getVersionString().response();
    check(version.status(), "getVersionString");
    if (!version.message().startsWith("$CondorVersion:")) fail("getVersionString: " + version.message());
    printf("getVersionString -> %s\n", qPrintable(version.message()));

    CONDOR__Transaction txn = begin();
    int cluster = newCluster(txn);
    CONDOR__ClassAdStruct ad;
    int proc = newJob(txn, cluster, owner, "job.sh", QString(), &ad);
    QByteArray binary(3 * CHUNK + 4321, 0);
    for (int i = 0; i < binary.size(); i++) binary[i] = (char) ((i * 7 + (i >> 8)) & 0xff);
    upload(txn, cluster, proc, "job.sh", SCRIPT);
    upload(txn, cluster, proc, "input.txt", TEXT);
    upload(txn, cluster, proc, "input.bin", binary);
    submit(txn, cluster, proc, ad);
    commit(txn);
    printf("submitted job %d.%d with 3 files\n", cluster, proc);

    printf("JobStatus %s\n", qPrintable(waitStatus(cluster, proc, {"4"})));
    CONDOR__ListSpool ls;
    ls.setClusterId(cluster); ls.setJobId(proc);
    CONDOR__FileInfoArrayAndStatus spool = schedd->listSpool(ls).response();
    check(spool.status(), "listSpool");
    QMap<QString, qint64> sizes;
    for (const CONDOR__FileInfo &f : spool.info().item()) sizes[f.name()] = f.size();
    for (auto it = sizes.begin(); it != sizes.end(); ++it) printf("listSpool -> %s %lld\n", qPrintable(it.key()), (long long) it.value());
    if (!sizes.contains("output.bin") || !sizes.contains("output.txt")) fail("outputs missing from the spool");
    if (download(cluster, proc, "output.bin", sizes["output.bin"]) != binary) fail("output.bin differs from input.bin");
    QByteArray upper = download(cluster, proc, "output.txt", sizes["output.txt"]);
    if (upper != TEXT.toUpper()) fail("output.txt is " + QString(upper));
    CONDOR__CloseSpool cs;
    cs.setClusterId(cluster); cs.setJobId(proc);
    check(schedd->closeSpool(cs).response(), "closeSpool");
    printf("outputs verified, spool closed\n");

    txn = begin();
    int sleepers = newCluster(txn);
    for (int i = 0; i < 2; i++) {
        CONDOR__ClassAdStruct t;
        int j = newJob(txn, sleepers, owner, "/bin/sleep", "300", &t);
        submit(txn, sleepers, j, t);
    }
    commit(txn);
    CONDOR__HoldJob h;
    h.setClusterId(sleepers); h.setJobId(0); h.setReason("held");
    h.setEmail_user(false); h.setEmail_admin(false); h.setSystem_hold(false);
    check(schedd->holdJob(h).response(), "holdJob");
    printf("held: JobStatus %s\n", qPrintable(waitStatus(sleepers, 0, {"5"})));
    CONDOR__ReleaseJob r;
    r.setClusterId(sleepers); r.setJobId(0); r.setReason("released"); r.setEmail_user(false); r.setEmail_admin(false);
    check(schedd->releaseJob(r).response(), "releaseJob");
    printf("released: JobStatus %s\n", qPrintable(waitStatus(sleepers, 0, {"1", "2"})));
    CONDOR__RemoveJob rm;
    rm.setClusterId(sleepers); rm.setJobId(0); rm.setReason("removed"); rm.setForce_removal(false);
    check(schedd->removeJob(rm).response(), "removeJob");
    printf("removed: %s\n", qPrintable(waitStatus(sleepers, 0, {"3", "gone"})));

    QList<CONDOR__ClassAdStruct> ads = jobAds(QString("ClusterId == %1 && ProcId == 1").arg(sleepers));
    if (ads.size() != 1 || attrs(ads[0])["ProcId"] != "1") fail(QString("getJobAds: %1 ads").arg(ads.size()));
    CONDOR__RemoveCluster rc;
    rc.setClusterId(sleepers); rc.setReason("removed by the client");
    check(schedd->removeCluster(rc).response(), "removeCluster");
    for (int tries = 0; !jobAds(QString("ClusterId == %1 && JobStatus != 3").arg(sleepers)).isEmpty(); tries++) {
        if (tries > 240) fail("removeCluster: jobs left");
        QThread::msleep(250);
    }
    printf("cluster %d removed\n", sleepers);

    Collector::CONDOR__QueryStartdAds qs;
    qs.setConstraint("");
    int startds = collector.queryStartdAds(qs).result().item().size();
    Collector::CONDOR__QueryScheddAds qd;
    qd.setConstraint("HasSOAPInterface =?= TRUE");
    int schedds = collector.queryScheddAds(qd).result().item().size();
    if (!collector.lastError().isEmpty()) fail("collector: " + collector.lastError());
    if (!startds || !schedds) fail("collector: no ads");
    printf("collector: %d startd ads, %d schedd ads\n", startds, schedds);
    printf("OK\n");
    return 0;
}
