// The condor-soap workflow with a JAX-WS client (wsimport). Generate, compile and run:
//
//   wsimport -quiet -keep -Xnocompile -s gen -p condor.schedd    http://127.0.0.1:8080/condorSchedd.wsdl
//   wsimport -quiet -keep -Xnocompile -s gen -p condor.collector http://127.0.0.1:8080/condorCollector.wsdl
//   CP=/usr/share/java/jaxws-rt.jar:/usr/share/java/jaxws-api.jar:/usr/share/java/jaxb-api.jar:/usr/share/java/javax.activation.jar
//   javac -cp $CP -d classes $(find gen -name '*.java') CondorWorkflow.java
//   java -cp classes:$CP CondorWorkflow http://127.0.0.1:8080/ [schedd.wsdl collector.wsdl]
//
// (works the same from the original HTCondor WSDLs). Submits a job with a script, a text file
// and a binary file (64 KiB chunks), waits for it, fetches and compares its output, then holds,
// releases and removes a sleep job, removes its cluster and queries the collector. Prints "OK"
// last, or exits 1 with the reason. The job's Owner is $CONDOR_SOAP_OWNER or the current user.
// With credentials: CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... java -cp classes:$CP CondorWorkflow URL
// (HTTP Basic via BindingProvider.USERNAME_PROPERTY/PASSWORD_PROPERTY, sent preemptively by the RI).
import condor.schedd.*;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.*;
import javax.xml.ws.BindingProvider;

public class CondorWorkflow {
    static final int CHUNK = 64 * 1024;
    static final String SCRIPT = "#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n";
    static final String TEXT = "Hello from a condor-soap client.\nThe job upper-cases this line.\n";

    static CondorScheddPortType schedd;

    static void fail(String why) {
        System.out.println("FAILED: " + why);
        System.exit(1);
    }

    /** Every schedd answer carries a Status; anything but SUCCESS ends the program. */
    static Status check(Status status, String what) {
        if (status.getCode() != StatusCode.SUCCESS) fail(what + ": " + status.getCode() + " " + status.getMessage());
        return status;
    }

    /** Points a port at the service and, if $CONDOR_SOAP_USER is set, gives it HTTP Basic credentials. */
    static void configure(Object port, String url) {
        Map<String, Object> context = ((BindingProvider) port).getRequestContext();
        context.put(BindingProvider.ENDPOINT_ADDRESS_PROPERTY, url);
        String user = System.getenv("CONDOR_SOAP_USER");
        if (user != null && !user.isEmpty()) {
            context.put(BindingProvider.USERNAME_PROPERTY, user);
            context.put(BindingProvider.PASSWORD_PROPERTY, System.getenv().getOrDefault("CONDOR_SOAP_PASSWORD", ""));
        }
    }

    /** A WSDL argument may be a URL or a file name. */
    static URL location(String s) throws Exception {
        return s.contains("://") ? new URL(s) : new File(s).toURI().toURL();
    }

    static byte[] binaryInput() {  // 3 full chunks and a bit: every byte value, not text
        byte[] data = new byte[3 * CHUNK + 4321];
        for (int i = 0; i < data.length; i++) data[i] = (byte) ((i * 7 + (i >> 8)) & 0xff);
        return data;
    }

    static void upload(Transaction txn, int cluster, int proc, String name, byte[] data) {
        check(schedd.declareFile(txn, cluster, proc, name, data.length, HashType.NOHASH, null), "declareFile " + name);
        for (int offset = 0; offset < data.length; offset += CHUNK) {
            byte[] chunk = Arrays.copyOfRange(data, offset, Math.min(data.length, offset + CHUNK));
            check(schedd.sendFile(txn, cluster, proc, name, offset, chunk), "sendFile " + name);
        }
    }

    static byte[] download(int cluster, int proc, String name, long size) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (out.size() < size) {
            int length = (int) Math.min(CHUNK, size - out.size());
            Base64DataAndStatus got = schedd.getFile(null, cluster, proc, name, out.size(), length);
            check(got.getStatus(), "getFile " + name);
            // minOccurs="0" nillable="true" elements come as JAXBElement<T>
            byte[] data = got.getData() == null ? null : got.getData().getValue();
            if (data == null || data.length == 0) fail("getFile " + name + ": no data");
            out.write(data, 0, data.length);
        }
        return out.toByteArray();
    }

    static Map<String, String> attrs(ClassAdStruct ad) {
        Map<String, String> map = new HashMap<>();
        for (ClassAdStructAttr a : ad.getItem()) map.put(a.getName(), a.getValue());
        return map;
    }

    /** JobStatus of a job, or "gone" once it has left the queue. */
    static String jobStatus(int cluster, int proc) {
        ClassAdStructAndStatus r = schedd.getJobAd(null, cluster, proc);
        if (r.getStatus().getCode() == StatusCode.UNKNOWNJOB) return "gone";
        check(r.getStatus(), "getJobAd");
        return attrs(r.getClassAd().getValue()).get("JobStatus");
    }

    static String waitStatus(int cluster, int proc, String... wanted) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 120_000;
        while (true) {
            String status = jobStatus(cluster, proc);
            if (Arrays.asList(wanted).contains(status)) return status;
            if (status.equals("5") && !Arrays.asList(wanted).contains("5")) fail("job " + cluster + "." + proc + " was held");
            if (System.currentTimeMillis() > deadline) fail("job " + cluster + "." + proc + " stays in JobStatus " + status);
            Thread.sleep(250);
        }
    }

    static List<ClassAdStruct> jobAds(String constraint) {
        ClassAdStructArrayAndStatus r = schedd.getJobAds(null, constraint);
        check(r.getStatus(), "getJobAds " + constraint);
        return r.getClassAdArray() == null ? new ArrayList<>() : r.getClassAdArray().getValue().getItem();
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        String scheddWsdl = args.length > 1 ? args[1] : url + "condorSchedd.wsdl";
        String collectorWsdl = args.length > 2 ? args[2] : url + "condorCollector.wsdl";
        String owner = System.getenv().getOrDefault("CONDOR_SOAP_OWNER", System.getProperty("user.name"));

        // the WSDL's soap:address may be anything (http://localhost:80 in the original): set the endpoint
        schedd = new CondorSchedd(location(scheddWsdl)).getCondorSchedd();
        configure(schedd, url);
        condor.collector.CondorCollectorPortType collector =
            new condor.collector.CondorCollector(location(collectorWsdl)).getCondorCollector();
        configure(collector, url);

        StringAndStatus version = schedd.getVersionString();
        check(version.getStatus(), "getVersionString");
        String versionText = version.getMessage().getValue();
        if (!versionText.startsWith("$CondorVersion:")) fail("getVersionString: " + versionText);
        System.out.println("getVersionString -> " + versionText);

        // 1. one job with input files, in one transaction
        TransactionAndStatus begun = schedd.beginTransaction(60);
        check(begun.getStatus(), "beginTransaction");
        Transaction txn = begun.getTransaction();
        IntAndStatus c = schedd.newCluster(txn);
        check(c.getStatus(), "newCluster");
        int cluster = c.getInteger();
        IntAndStatus p = schedd.newJob(txn, cluster);
        check(p.getStatus(), "newJob");
        int proc = p.getInteger();
        ClassAdStructAndStatus template = schedd.createJobTemplate(cluster, proc, owner, UniverseType.VANILLA,
                                                                   "job.sh", null, null);
        check(template.getStatus(), "createJobTemplate");
        byte[] binary = binaryInput();
        upload(txn, cluster, proc, "job.sh", SCRIPT.getBytes(StandardCharsets.UTF_8));
        upload(txn, cluster, proc, "input.txt", TEXT.getBytes(StandardCharsets.UTF_8));
        upload(txn, cluster, proc, "input.bin", binary);
        check(schedd.submit(txn, cluster, proc, template.getClassAd().getValue()).getStatus(), "submit");
        check(schedd.commitTransaction(txn), "commitTransaction");
        System.out.println("submitted job " + cluster + "." + proc + " with 3 files");

        System.out.println("JobStatus " + waitStatus(cluster, proc, "4"));
        FileInfoArrayAndStatus spool = schedd.listSpool(null, cluster, proc);
        check(spool.getStatus(), "listSpool");
        Map<String, Long> sizes = new TreeMap<>();
        for (FileInfo f : spool.getInfo().getValue().getItem()) sizes.put(f.getName(), f.getSize());
        System.out.println("listSpool -> " + sizes);
        if (!sizes.containsKey("output.bin") || !sizes.containsKey("output.txt")) fail("outputs missing from the spool");
        if (!Arrays.equals(download(cluster, proc, "output.bin", sizes.get("output.bin")), binary))
            fail("output.bin differs from input.bin");
        String upper = new String(download(cluster, proc, "output.txt", sizes.get("output.txt")), StandardCharsets.UTF_8);
        if (!upper.equals(TEXT.toUpperCase())) fail("output.txt is " + upper);
        check(schedd.closeSpool(null, cluster, proc), "closeSpool");
        System.out.println("outputs verified, spool closed");

        // 2. two sleep jobs: hold, release and remove the first, then remove the whole cluster
        txn = schedd.beginTransaction(60).getTransaction();
        int sleepers = schedd.newCluster(txn).getInteger();
        for (int i = 0; i < 2; i++) {
            int j = schedd.newJob(txn, sleepers).getInteger();
            ClassAdStructAndStatus t = schedd.createJobTemplate(sleepers, j, owner, UniverseType.VANILLA, "/bin/sleep", "300", null);
            check(t.getStatus(), "createJobTemplate");
            check(schedd.submit(txn, sleepers, j, t.getClassAd().getValue()).getStatus(), "submit");
        }
        check(schedd.commitTransaction(txn), "commitTransaction");
        check(schedd.holdJob(null, sleepers, 0, "held by the client", false, false, false), "holdJob");
        System.out.println("held: JobStatus " + waitStatus(sleepers, 0, "5"));
        check(schedd.releaseJob(null, sleepers, 0, "released by the client", false, false), "releaseJob");
        System.out.println("released: JobStatus " + waitStatus(sleepers, 0, "1", "2"));
        check(schedd.removeJob(null, sleepers, 0, "removed by the client", false), "removeJob");
        System.out.println("removed: " + waitStatus(sleepers, 0, "3", "gone"));

        List<ClassAdStruct> ads = jobAds("ClusterId == " + sleepers + " && ProcId == 1");
        if (ads.size() != 1 || !attrs(ads.get(0)).get("ProcId").equals("1")) fail("getJobAds: " + ads.size() + " ads");
        check(schedd.removeCluster(null, sleepers, "removed by the client"), "removeCluster");
        long deadline = System.currentTimeMillis() + 60_000;
        while (!jobAds("ClusterId == " + sleepers + " && JobStatus != 3").isEmpty()) {
            if (System.currentTimeMillis() > deadline) fail("removeCluster: jobs left");
            Thread.sleep(250);
        }
        System.out.println("cluster " + sleepers + " removed");

        // 3. the collector answers the ads themselves, with no Status
        condor.collector.ClassAdStructArray startds = collector.queryStartdAds("");
        condor.collector.ClassAdStructArray schedds = collector.queryScheddAds("HasSOAPInterface =?= TRUE");
        if (startds.getItem().isEmpty() || schedds.getItem().isEmpty()) fail("collector: no ads");
        System.out.println("collector: " + startds.getItem().size() + " startd ads, " + schedds.getItem().size() + " schedd ads");
        System.out.println("OK");
    }
}
