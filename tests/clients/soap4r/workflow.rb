# The client-matrix workflow with soap4r's generated classes and driver (Debian ruby-soap4r).
#   ruby generate.rb condorSchedd.wsdl gen/schedd Schedd
#   ruby generate.rb condorCollector.wsdl gen/collector Collector
#   ruby workflow.rb URL                        (in the directory holding gen/)
# Same steps as examples/zeep_workflow.py; prints "OK" last or exits 1 with the reason.
# With credentials: CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... ruby workflow.rb URL
# (HTTP Basic via the driver's options["protocol.http.basic_auth"], sent by the httpclient gem in answer
# to the service's 401 challenge; soap4r's net/http fallback has no Basic auth, so install ruby-httpclient).
$LOAD_PATH.unshift 'gen/schedd', 'gen/collector'
require 'etc'
require 'ScheddDriver.rb'
require 'CollectorDriver.rb'

CHUNK = 64 * 1024
SCRIPT = "#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n"
TEXT = "Hello from a condor-soap client.\nThe job upper-cases this line.\n"
S = CondorSchedd

class Failure < StandardError; end

def check(status, what)
  raise Failure, "#{what}: #{status.code} #{status.message}" unless status.code == S::StatusCode::SUCCESS
end

# the generated array types (ClassAdStruct, ...) are Arrays of their items; nil when empty
def items(array)
  return [] if array.nil?
  return array.to_a if array.is_a?(Array)
  array.respond_to?(:item) ? [array.item].flatten : []
end

def attrs(ad)
  items(ad).to_h { |a| [a.name.to_s, a.value.to_s] }
end

url = ARGV[0]
owner = ENV['CONDOR_SOAP_OWNER'] || Etc.getlogin || Etc.getpwuid.name
schedd = S::CondorScheddPortType.new(url)  # the endpoint: the WSDL's soap:address is not used
collector = CondorCollector::CondorCollectorPortType.new(url)
user = ENV['CONDOR_SOAP_USER']
if user && !user.empty?
  [schedd, collector].each { |port| port.options['protocol.http.basic_auth'] << [url, user, ENV['CONDOR_SOAP_PASSWORD'] || ''] }
end

upload = lambda do |txn, cluster, proc_id, name, data|
  check(schedd.declareFile(S::DeclareFile.new(txn, cluster, proc_id, name, data.bytesize, S::HashType::NOHASH)).response,
        "declareFile #{name}")
  (0...data.bytesize).step(CHUNK) do |offset|
    chunk = SOAP::SOAPBase64.new(data.byteslice(offset, CHUNK))  # a plain String would go as text
    check(schedd.sendFile(S::SendFile.new(txn, cluster, proc_id, name, offset, chunk)).response, "sendFile #{name}")
  end
end

download = lambda do |cluster, proc_id, name, size|
  data = ''.b
  while data.bytesize < size
    got = schedd.getFile(S::GetFile.new(nil, cluster, proc_id, name, data.bytesize, [CHUNK, size - data.bytesize].min)).response
    check(got.status, "getFile #{name}")
    # soap4r bug (literal mapping of xsd:base64Binary): it reads the element's base64 text as
    # if it were the value and hands back that text base64-encoded once more; undo both
    chunk = got.data.to_s.unpack1('m').unpack1('m').b
    raise Failure, "getFile #{name}: no data" if chunk.empty?
    data << chunk
  end
  data
end

job_status = lambda do |cluster, proc_id|
  r = schedd.getJobAd(S::GetJobAd.new(nil, cluster, proc_id)).response
  next 'gone' if r.status.code == S::StatusCode::UNKNOWNJOB
  check(r.status, 'getJobAd')
  attrs(r.classAd)['JobStatus']
end

wait_status = lambda do |cluster, proc_id, wanted|
  deadline = Time.now + 120
  loop do
    status = job_status.call(cluster, proc_id)
    break status if wanted.include?(status)
    raise Failure, "job #{cluster}.#{proc_id} was held" if status == '5'
    raise Failure, "job #{cluster}.#{proc_id} stays in JobStatus #{status}" if Time.now > deadline
    sleep 0.25
  end
end

job_ads = lambda do |constraint|
  r = schedd.getJobAds(S::GetJobAds.new(nil, constraint)).response
  check(r.status, "getJobAds #{constraint}")
  items(r.classAdArray)
end

new_job = lambda do |txn, cluster, cmd, args|
  job = schedd.newJob(S::NewJob.new(txn, cluster)).response
  check(job.status, 'newJob')
  t = schedd.createJobTemplate(S::CreateJobTemplate.new(cluster, job.integer.to_i, owner, S::UniverseType::VANILLA, cmd, args)).response
  check(t.status, 'createJobTemplate')
  ad = S::ClassAdStruct.new
  items(t.classAd).each { |a| ad << S::ClassAdStructAttr.new(a.name.to_s, a.type.to_s, a.value.to_s) }
  [job.integer.to_i, ad]
end

begin
  version = schedd.getVersionString(S::GetVersionString.new).response
  check(version.status, 'getVersionString')
  raise Failure, "getVersionString: #{version.message}" unless version.message.to_s.start_with?('$CondorVersion:')
  puts "getVersionString -> #{version.message}"

  begun = schedd.beginTransaction(S::BeginTransaction.new(60)).response
  check(begun.status, 'beginTransaction')
  txn = begun.transaction
  c = schedd.newCluster(S::NewCluster.new(txn)).response
  check(c.status, 'newCluster')
  cluster = c.integer.to_i
  proc_id, ad = new_job.call(txn, cluster, 'job.sh', nil)
  binary = (0...(3 * CHUNK + 4321)).map { |i| (i * 7 + (i >> 8)) & 0xff }.pack('C*')
  upload.call(txn, cluster, proc_id, 'job.sh', SCRIPT)
  upload.call(txn, cluster, proc_id, 'input.txt', TEXT)
  upload.call(txn, cluster, proc_id, 'input.bin', binary)
  check(schedd.submit(S::Submit.new(txn, cluster, proc_id, ad)).response.status, 'submit')
  check(schedd.commitTransaction(S::CommitTransaction.new(txn)).response, 'commitTransaction')
  puts "submitted job #{cluster}.#{proc_id} with 3 files"

  puts "JobStatus #{wait_status.call(cluster, proc_id, ['4'])}"
  spool = schedd.listSpool(S::ListSpool.new(nil, cluster, proc_id)).response
  check(spool.status, 'listSpool')
  sizes = items(spool.info).to_h { |f| [f.name.to_s, f.size.to_i] }
  puts "listSpool -> #{sizes.sort.to_h}"
  raise Failure, 'outputs missing from the spool' unless sizes['output.bin'] && sizes['output.txt']
  raise Failure, 'output.bin differs from input.bin' unless download.call(cluster, proc_id, 'output.bin', sizes['output.bin']) == binary
  upper = download.call(cluster, proc_id, 'output.txt', sizes['output.txt'])
  raise Failure, "output.txt is #{upper.inspect}" unless upper == TEXT.upcase.b
  check(schedd.closeSpool(S::CloseSpool.new(nil, cluster, proc_id)).response, 'closeSpool')
  puts 'outputs verified, spool closed'

  txn = schedd.beginTransaction(S::BeginTransaction.new(60)).response.transaction
  sleepers = schedd.newCluster(S::NewCluster.new(txn)).response.integer.to_i
  2.times do
    j, t = new_job.call(txn, sleepers, '/bin/sleep', '300')
    check(schedd.submit(S::Submit.new(txn, sleepers, j, t)).response.status, 'submit')
  end
  check(schedd.commitTransaction(S::CommitTransaction.new(txn)).response, 'commitTransaction')
  check(schedd.holdJob(S::HoldJob.new(nil, sleepers, 0, 'held', false, false, false)).response, 'holdJob')
  puts "held: JobStatus #{wait_status.call(sleepers, 0, ['5'])}"
  check(schedd.releaseJob(S::ReleaseJob.new(nil, sleepers, 0, 'released', false, false)).response, 'releaseJob')
  puts "released: JobStatus #{wait_status.call(sleepers, 0, %w[1 2])}"
  check(schedd.removeJob(S::RemoveJob.new(nil, sleepers, 0, 'removed', false)).response, 'removeJob')
  puts "removed: #{wait_status.call(sleepers, 0, %w[3 gone])}"

  ads = job_ads.call("ClusterId == #{sleepers} && ProcId == 1")
  raise Failure, "getJobAds: #{ads.size} ads" unless ads.size == 1 && attrs(ads[0])['ProcId'] == '1'
  check(schedd.removeCluster(S::RemoveCluster.new(nil, sleepers, 'removed by the client')).response, 'removeCluster')
  deadline = Time.now + 60
  until job_ads.call("ClusterId == #{sleepers} && JobStatus != 3").empty?
    raise Failure, 'removeCluster: jobs left' if Time.now > deadline
    sleep 0.25
  end
  puts "cluster #{sleepers} removed"

  startds = items(collector.queryStartdAds(CondorCollector::QueryStartdAds.new('')).result)
  schedds = items(collector.queryScheddAds(CondorCollector::QueryScheddAds.new('HasSOAPInterface =?= TRUE')).result)
  raise Failure, 'collector: no ads' if startds.empty? || schedds.empty?
  puts "collector: #{startds.size} startd ads, #{schedds.size} schedd ads"
rescue Failure => e
  puts "FAILED: #{e.message}"
  exit 1
end
puts 'OK'
