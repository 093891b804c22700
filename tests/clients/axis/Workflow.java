// The client-matrix workflow with Apache Axis 1.4 stubs (WSDL2Java), the stack under birdbath.
//   java org.apache.axis.wsdl.WSDL2Java -o gen -p condor.schedd    condorSchedd.wsdl
//   java org.apache.axis.wsdl.WSDL2Java -o gen -p condor.collector condorCollector.wsdl
//   javac -d classes $(find gen -name '*.java') Workflow.java && java Workflow URL
// Same steps as examples/java/CondorWorkflow.java (JAX-WS). Axis names the ClassAdAttrType
// constants value1..value7 (the literals have hyphens); this program adds one attribute with
// value3 (STRING-ATTR) to the template, as birdbath merges extra attributes.
// With credentials: CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... java Workflow URL
// (HTTP Basic via Stub.setUsername/setPassword; Axis's HTTPSender sends it preemptively).
import condor.schedd.*;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class Workflow {
    static final int CHUNK = 64 * 1024;
    static final String SCRIPT = "#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n";
    static final String TEXT = "Hello from a condor-soap client.\nThe job upper-cases this line.\n";

    static CondorScheddPortType schedd;

    static void fail(String why) {
        System.out.println("FAILED: " + why);
        System.exit(1);
    }

    static Status check(Status status, String what) {
        if (!status.getCode().equals(StatusCode.SUCCESS)) fail(what + ": " + status.getCode() + " " + status.getMessage());
        return status;
    }

    /** If $CONDOR_SOAP_USER is set, gives the stub HTTP Basic credentials. */
    static void authenticate(Object port) {
        String user = System.getenv("CONDOR_SOAP_USER");
        if (user == null || user.isEmpty()) return;
        org.apache.axis.client.Stub stub = (org.apache.axis.client.Stub) port;
        stub.setUsername(user);
        stub.setPassword(System.getenv().getOrDefault("CONDOR_SOAP_PASSWORD", ""));
    }

    static byte[] binaryInput() {
        byte[] data = new byte[3 * CHUNK + 4321];
        for (int i = 0; i < data.length; i++) data[i] = (byte) ((i * 7 + (i >> 8)) & 0xff);
        return data;
    }

    static void upload(Transaction txn, int cluster, int proc, String name, byte[] data) throws Exception {
        check(schedd.declareFile(txn, cluster, proc, name, data.length, HashType.NOHASH, null), "declareFile " + name);
        for (int offset = 0; offset < data.length; offset += CHUNK) {
            byte[] chunk = Arrays.copyOfRange(data, offset, Math.min(data.length, offset + CHUNK));
            check(schedd.sendFile(txn, cluster, proc, name, offset, chunk), "sendFile " + name);
        }
    }

    static byte[] download(int cluster, int proc, String name, long size) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (out.size() < size) {
            Base64DataAndStatus got = schedd.getFile(null, cluster, proc, name, out.size(), (int) Math.min(CHUNK, size - out.size()));
            check(got.getStatus(), "getFile " + name);
            if (got.getData() == null || got.getData().length == 0) fail("getFile " + name + ": no data");
            out.write(got.getData(), 0, got.getData().length);
        }
        return out.toByteArray();
    }

    static Map<String, String> attrs(ClassAdStructAttr[] ad) {
        Map<String, String> map = new HashMap<>();
        for (ClassAdStructAttr a : ad) map.put(a.getName(), a.getValue());
        return map;
    }

    static String jobStatus(int cluster, int proc) throws Exception {
        ClassAdStructAndStatus r = schedd.getJobAd(null, cluster, proc);
        if (r.getStatus().getCode().equals(StatusCode.UNKNOWNJOB)) return "gone";
        check(r.getStatus(), "getJobAd");
        return attrs(r.getClassAd()).get("JobStatus");
    }

    static String waitStatus(int cluster, int proc, String... wanted) throws Exception {
        long deadline = System.currentTimeMillis() + 120_000;
        while (true) {
            String status = jobStatus(cluster, proc);
            if (Arrays.asList(wanted).contains(status)) return status;
            if (status.equals("5")) fail("job " + cluster + "." + proc + " was held");
            if (System.currentTimeMillis() > deadline) fail("job " + cluster + "." + proc + " stays in JobStatus " + status);
            Thread.sleep(250);
        }
    }

    static ClassAdStructAttr[][] jobAds(String constraint) throws Exception {
        ClassAdStructArrayAndStatus r = schedd.getJobAds(null, constraint);
        check(r.getStatus(), "getJobAds " + constraint);
        return r.getClassAdArray() == null ? new ClassAdStructAttr[0][] : r.getClassAdArray();
    }

    public static void main(String[] args) throws Exception {
        java.net.URL url = new java.net.URL(args[0]);
        String owner = System.getenv().getOrDefault("CONDOR_SOAP_OWNER", System.getProperty("user.name"));
        schedd = new CondorSchedd_ServiceLocator().getcondorSchedd(url);
        condor.collector.CondorCollectorPortType collector = new condor.collector.CondorCollector_ServiceLocator().getcondorCollector(url);
        authenticate(schedd);
        authenticate(collector);

        StringAndStatus version = schedd.getVersionString();
        check(version.getStatus(), "getVersionString");
        if (!version.getMessage().startsWith("$CondorVersion:")) fail("getVersionString: " + version.getMessage());
        System.out.println("getVersionString -> " + version.getMessage());

        Transaction txn = schedd.beginTransaction(60).getTransaction();
        IntAndStatus c = schedd.newCluster(txn);
        check(c.getStatus(), "newCluster");
        int cluster = c.getInteger();
        IntAndStatus p = schedd.newJob(txn, cluster);
        check(p.getStatus(), "newJob");
        int proc = p.getInteger();
        ClassAdStructAndStatus template = schedd.createJobTemplate(cluster, proc, owner, UniverseType.VANILLA, "job.sh", null, null);
        check(template.getStatus(), "createJobTemplate");
        List<ClassAdStructAttr> ad = new ArrayList<>(Arrays.asList(template.getClassAd()));
        ad.add(0, new ClassAdStructAttr("ClientToolchain", ClassAdAttrType.value3, "axis"));  // value3 = STRING-ATTR
        byte[] binary = binaryInput();
        upload(txn, cluster, proc, "job.sh", SCRIPT.getBytes(StandardCharsets.UTF_8));
        upload(txn, cluster, proc, "input.txt", TEXT.getBytes(StandardCharsets.UTF_8));
        upload(txn, cluster, proc, "input.bin", binary);
        check(schedd.submit(txn, cluster, proc, ad.toArray(new ClassAdStructAttr[0])).getStatus(), "submit");
        check(schedd.commitTransaction(txn), "commitTransaction");
        System.out.println("submitted job " + cluster + "." + proc + " with 3 files");

        System.out.println("JobStatus " + waitStatus(cluster, proc, "4"));
        ClassAdStructAttr[] done = schedd.getJobAd(null, cluster, proc).getClassAd();
        if (!"axis".equals(attrs(done).get("ClientToolchain"))) fail("ClientToolchain not in the job ad");
        for (ClassAdStructAttr a : done)  // the service must answer only the declared literals
            if (a.getName().equals("ClusterId") && !a.getType().equals(ClassAdAttrType.value1)) fail("ClusterId is " + a.getType());
        FileInfoArrayAndStatus spool = schedd.listSpool(null, cluster, proc);
        check(spool.getStatus(), "listSpool");
        Map<String, Long> sizes = new TreeMap<>();
        for (FileInfo f : spool.getInfo()) sizes.put(f.getName(), f.getSize());
        System.out.println("listSpool -> " + sizes);
        if (!sizes.containsKey("output.bin") || !sizes.containsKey("output.txt")) fail("outputs missing from the spool");
        if (!Arrays.equals(download(cluster, proc, "output.bin", sizes.get("output.bin")), binary)) fail("output.bin differs");
        String upper = new String(download(cluster, proc, "output.txt", sizes.get("output.txt")), StandardCharsets.UTF_8);
        if (!upper.equals(TEXT.toUpperCase())) fail("output.txt is " + upper);
        check(schedd.closeSpool(null, cluster, proc), "closeSpool");
        System.out.println("outputs verified, spool closed");

        txn = schedd.beginTransaction(60).getTransaction();
        int sleepers = schedd.newCluster(txn).getInteger();
        for (int i = 0; i < 2; i++) {
            int j = schedd.newJob(txn, sleepers).getInteger();
            ClassAdStructAndStatus t = schedd.createJobTemplate(sleepers, j, owner, UniverseType.VANILLA, "/bin/sleep", "300", null);
            check(t.getStatus(), "createJobTemplate");
            check(schedd.submit(txn, sleepers, j, t.getClassAd()).getStatus(), "submit");
        }
        check(schedd.commitTransaction(txn), "commitTransaction");
        check(schedd.holdJob(null, sleepers, 0, "held by the client", false, false, false), "holdJob");
        System.out.println("held: JobStatus " + waitStatus(sleepers, 0, "5"));
        check(schedd.releaseJob(null, sleepers, 0, "released by the client", false, false), "releaseJob");
        System.out.println("released: JobStatus " + waitStatus(sleepers, 0, "1", "2"));
        check(schedd.removeJob(null, sleepers, 0, "removed by the client", false), "removeJob");
        System.out.println("removed: " + waitStatus(sleepers, 0, "3", "gone"));

        ClassAdStructAttr[][] ads = jobAds("ClusterId == " + sleepers + " && ProcId == 1");
        if (ads.length != 1 || !attrs(ads[0]).get("ProcId").equals("1")) fail("getJobAds: " + ads.length + " ads");
        check(schedd.removeCluster(null, sleepers, "removed by the client"), "removeCluster");
        long deadline = System.currentTimeMillis() + 60_000;
        while (jobAds("ClusterId == " + sleepers + " && JobStatus != 3").length > 0) {
            if (System.currentTimeMillis() > deadline) fail("removeCluster: jobs left");
            Thread.sleep(250);
        }
        System.out.println("cluster " + sleepers + " removed");

        condor.collector.ClassAdStructAttr[][] startds = collector.queryStartdAds("");
        condor.collector.ClassAdStructAttr[][] schedds = collector.queryScheddAds("HasSOAPInterface =?= TRUE");
        if (startds == null || startds.length == 0 || schedds == null || schedds.length == 0) fail("collector: no ads");
        System.out.println("collector: " + startds.length + " startd ads, " + schedds.length + " schedd ads");
        System.out.println("OK");
    }
}
