"""Every client toolchain of the matrix: how to generate, compile and run its workflow program.

Each toolchain is a list of shell steps run with ``bash -eu`` in a fresh work directory. The
steps are formatted with:

``{repo}``      the repository root             ``{work}``   the work directory (cwd)
``{url}``       the service URL (ends in ``/``)  ``{venv}``   the clients' Python venv
``{schedd}``    schedd WSDL: a file (reference) or the served URL
``{collector}`` collector WSDL: likewise
``{schedd_file}``, ``{collector_file}``  the same WSDLs as local files, for generators that
                need one
``{schedd_url}``, ``{collector_url}``    the same WSDLs as URLs (``file://`` for reference)
``{node}``      the npm tree (node_modules)     ``{java}``   /usr/share/java

Every program implements the same workflow (examples/README.rst) and takes
``URL [SCHEDD_WSDL COLLECTOR_WSDL]``; its last line is ``OK``. The service refuses anonymous
calls: every program sends HTTP Basic auth from ``$CONDOR_SOAP_USER`` / ``$CONDOR_SOAP_PASSWORD``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[2]
WSDL_KINDS = ("reference", "served")

JAXWS_CP = "{java}/jaxws-rt.jar:{java}/jaxws-api.jar:{java}/jaxb-api.jar:{java}/javax.activation.jar"
AXIS_CP = ("{java}/axis.jar:{java}/axis-jaxrpc.jar:{java}/axis-saaj.jar:{java}/wsdl4j.jar:"
           "{java}/commons-discovery.jar:{java}/commons-logging.jar:{java}/javax.activation.jar:{java}/javax.mail.jar")
RUN_ARGS = "{url} {schedd} {collector}"


@dataclass
class Step:
    phase: str  # "generate", "build" or "run"
    command: str
    timeout: float = 300.0


@dataclass
class Toolchain:
    id: str
    title: str
    language: str
    program: str  # the workflow program, relative to the repository
    version: str  # shell command printing the toolchain's version
    steps: list[Step]
    # WSDL kind -> (upstream reason, exception the test must raise to prove it)
    expected_failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    # text a hanging step must have logged (gen.log) for the hang to count as the known one
    hang_evidence: str = ""
    notes: str = ""
    apt: Optional[str] = None
    auth: str = ""  # how the program sends HTTP Basic auth (the matrix service requires it)


def dpkg(*packages: str) -> str:
    return " && ".join(f"echo {p} $(dpkg -s {p} | sed -n 's/^Version: //p')" for p in packages)


TOOLCHAINS: list[Toolchain] = [
    Toolchain(
        "zeep", "zeep", "Python", "examples/zeep_workflow.py",
        "{venv}/bin/python -c 'import zeep; print(\"zeep\", zeep.__version__)'",
        [Step("run", "{venv}/bin/python {repo}/examples/zeep_workflow.py {url} --wsdl {schedd} "
                     "--collector-wsdl {collector}")],
        notes="dynamic client; the example of the README",
        auth='requests ``Session.auth``, preemptive'),
    Toolchain(
        "suds", "suds-community", "Python", "tests/clients/suds/workflow.py",
        "{venv}/bin/python -c 'import suds; print(\"suds-community\", suds.__version__)'",
        [Step("run", "{venv}/bin/python {repo}/tests/clients/suds/workflow.py " + RUN_ARGS)],
        notes="dynamic client",
        auth='``HttpAuthenticated`` transport, preemptive'),
    Toolchain(
        "xsdata", "xsdata (generated dataclasses)", "Python", "tests/clients/xsdata/workflow.py",
        "{venv}/bin/python -c 'from importlib.metadata import version; print(\"xsdata\", version(\"xsdata\"))'",
        [Step("generate", "PATH={venv}/bin:$PATH {venv}/bin/xsdata generate {schedd_file} --package condor_schedd "
                          "> gen.log && PATH={venv}/bin:$PATH {venv}/bin/xsdata generate {collector_file} "
                          "--package condor_collector >> gen.log"),
         Step("run", "PYTHONPATH={work} {venv}/bin/python {repo}/tests/clients/xsdata/workflow.py " + RUN_ARGS)],
        auth='``DefaultTransport`` over a requests session, preemptive'),
    Toolchain(
        "jaxws", "JAX-WS RI wsimport", "Java", "examples/java/CondorWorkflow.java",
        dpkg("jaxws") + " && javac -version 2>&1",
        [Step("generate", "mkdir -p gen classes && wsimport -quiet -keep -Xnocompile -s gen -p condor.schedd {schedd} "
                          "&& wsimport -quiet -keep -Xnocompile -s gen -p condor.collector {collector}"),
         Step("build", f"javac -nowarn -cp {JAXWS_CP} -d classes $(find gen -name '*.java') "
                       "{repo}/examples/java/CondorWorkflow.java"),
         Step("run", f"java -cp classes:{JAXWS_CP} CondorWorkflow " + RUN_ARGS)],
        apt="jaxws",
        auth='``BindingProvider.USERNAME_PROPERTY``, preemptive'),
    Toolchain(
        "axis", "Apache Axis 1.4 WSDL2Java", "Java", "tests/clients/axis/Workflow.java",
        dpkg("libaxis-java"),
        [Step("generate", f"java -cp {AXIS_CP} org.apache.axis.wsdl.WSDL2Java -o gen -p condor.schedd {{schedd}} "
                          f"&& java -cp {AXIS_CP} org.apache.axis.wsdl.WSDL2Java -o gen -p condor.collector {{collector}}"),
         Step("build", f"mkdir -p classes && javac -nowarn -cp {AXIS_CP} -d classes $(find gen -name '*.java') "
                       "{repo}/tests/clients/axis/Workflow.java"),
         Step("run", f"java -cp classes:{AXIS_CP} Workflow " + RUN_ARGS)],
        notes="birdbath's stack; enums are value1…value7", apt="libaxis-java",
        auth='``Stub.setUsername``, preemptive'),
    Toolchain(
        "mono", "Mono wsdl + mcs", "C#", "examples/csharp/CondorWorkflow.cs",
        dpkg("mono-devel"),
        [Step("generate", "wsdl -nologo -namespace:Condor.Schedd -out:Schedd.cs {schedd} > gen.log "
                          "&& wsdl -nologo -namespace:Condor.Collector -out:Collector.cs {collector} >> gen.log"),
         Step("build", "mcs -nologo -r:System.Web.Services.dll -out:workflow.exe "
                       "{repo}/examples/csharp/CondorWorkflow.cs Schedd.cs Collector.cs"),
         Step("run", "mono workflow.exe " + RUN_ARGS)],
        apt="mono-devel",
        auth='``Credentials`` + ``PreAuthenticate``, preemptive'),
    Toolchain(
        "gsoap-cpp", "gSOAP C++ (wsdl2h + soapcpp2 -j)", "C++", "examples/cpp/condor_workflow.cpp",
        dpkg("gsoap"),
        [Step("generate", "wsdl2h -o condor.h {schedd} {collector} > gen.log 2>&1 "
                          "&& soapcpp2 -1 -j -C -x -I/usr/share/gsoap/import condor.h >> gen.log 2>&1"),
         Step("build", "g++ -I. -o workflow {repo}/examples/cpp/condor_workflow.cpp soapC.cpp "
                       "soapcondorScheddProxy.cpp -lgsoap++"),
         Step("run", "./workflow " + RUN_ARGS)],
        notes="soapcpp2 -1 (SOAP 1.1)", apt="gsoap",
        auth='``soap->userid``/``passwd`` before each call, preemptive'),
    Toolchain(
        "gsoap-c", "gSOAP C (wsdl2h -c + soapcpp2 -c)", "C", "tests/clients/gsoap-c/workflow.c",
        dpkg("gsoap"),
        [Step("generate", "wsdl2h -c -o condor.h {schedd} {collector} > gen.log 2>&1 "
                          "&& soapcpp2 -c -1 -C -x -I/usr/share/gsoap/import condor.h >> gen.log 2>&1"),
         Step("build", "gcc -I. -o workflow {repo}/tests/clients/gsoap-c/workflow.c soapC.c soapClient.c -lgsoap"),
         Step("run", "./workflow " + RUN_ARGS)],
        apt="gsoap",
        auth='``soap->userid``/``passwd`` before each call, preemptive'),
    Toolchain(
        "kdsoap", "KDSoap kdwsdl2cpp (Qt 5)", "C++/Qt", "tests/clients/kdsoap/workflow.cpp",
        dpkg("libkdsoap-bin", "qtbase5-dev"),
        [Step("generate", "kdwsdl2cpp -namespace Schedd -both schedd {schedd_file} "
                          "&& kdwsdl2cpp -namespace Collector -both collector {collector_file} "
                          "&& moc schedd.h -o moc_schedd.cpp && moc collector.h -o moc_collector.cpp"),
         Step("build", "g++ -fPIC -o workflow -I. -I/usr/include/KDSoapClient {repo}/tests/clients/kdsoap/workflow.cpp "
                       "schedd.cpp collector.cpp moc_schedd.cpp moc_collector.cpp "
                       "$(pkg-config --cflags --libs Qt5Core Qt5Network) -lkdsoap"),
         Step("run", "./workflow " + RUN_ARGS)],
        apt="libkdsoap-bin",
        auth='``KDSoapAuthentication``, answers the 401'),
    Toolchain(
        "php", "PHP SoapClient", "PHP", "examples/php/condor_workflow.php",
        "php -r 'echo \"PHP \", PHP_VERSION, \" soap \", phpversion(\"soap\"), PHP_EOL;'",
        [Step("run", "php {repo}/examples/php/condor_workflow.php " + RUN_ARGS)],
        notes="dynamic client", apt="php-soap",
        auth='``login``/``password`` options, preemptive'),
    Toolchain(
        "perl", "Perl SOAP::WSDL wsdl2perl", "Perl", "tests/clients/perl/workflow.pl",
        dpkg("libsoap-wsdl-perl"),
        [Step("generate", "wsdl2perl -b lib {schedd_url} > gen.log 2>&1 && wsdl2perl -b lib {collector_url} >> gen.log 2>&1",
              timeout=15),
         Step("run", "perl -Ilib {repo}/tests/clients/perl/workflow.pl " + RUN_ARGS)],
        hang_evidence="Deep recursion on anonymous subroutine",
        expected_failures={
            kind: ("SOAP::WSDL 3.004 wsdl2perl (unmaintained) never finishes on a recursive complexType "
                   "(\"Deep recursion\" in Template::Document): Status.next is a Status, as in the original "
                   "WSDL; killed after 15 s. The same generator finishes in about 1 s on the same WSDL "
                   "without Status.next, and that client passes (next row)", "ToolchainHang")
            for kind in ("reference", "served")},
        apt="libsoap-wsdl-perl",
        auth='``get_basic_credentials``, answers the 401'),
    Toolchain(
        "perl-norec", "Perl SOAP::WSDL wsdl2perl, WSDL without Status.next", "Perl",
        "tests/clients/perl/workflow.pl",
        dpkg("libsoap-wsdl-perl"),
        [Step("generate", "for w in {schedd_file} {collector_file}; do "
                          "grep -v '<element name=\"next\" type=\"condor:Status\"' $w > $(basename $w); "
                          "wsdl2perl -b lib file://{work}/$(basename $w) >> gen.log 2>&1; done", timeout=60),
         Step("run", "perl -Ilib {repo}/tests/clients/perl/workflow.pl " + RUN_ARGS)],
        notes="generated from a copy of the WSDL without the one element Status.next (the service never "
              "sends it); proves the wsdl2perl hang above is the recursion and that SOAP::WSDL clients work",
        apt="libsoap-wsdl-perl",
        auth='``get_basic_credentials``, answers the 401'),
    Toolchain(
        "node-soap", "node soap", "JavaScript", "examples/javascript/condor_workflow.js",
        "echo soap $(node -p \"require('{node}/node_modules/soap/package.json').version\") node $(node --version)",
        [Step("run", "NODE_PATH={node}/node_modules node {repo}/examples/javascript/condor_workflow.js " + RUN_ARGS)],
        notes="dynamic client",
        auth='``BasicAuthSecurity``, preemptive'),
    Toolchain(
        "strong-soap", "strong-soap", "JavaScript", "tests/clients/strong-soap/workflow.js",
        "echo strong-soap $(node -p \"require('{node}/node_modules/strong-soap/package.json').version\")",
        [Step("run", "NODE_PATH={node}/node_modules node {repo}/tests/clients/strong-soap/workflow.js " + RUN_ARGS)],
        notes="dynamic client",
        auth='``BasicAuthSecurity``, preemptive'),
    Toolchain(
        "wsdl-tsclient", "wsdl-tsclient + tsc", "TypeScript", "tests/clients/wsdl-tsclient/workflow.ts",
        "echo wsdl-tsclient $(node -p \"require('{node}/node_modules/wsdl-tsclient/package.json').version\") "
        "typescript $({node}/node_modules/.bin/tsc --version | sed 's/Version //')",
        [Step("generate", "{repo}/tests/clients/wsdl-tsclient/generate.sh {node} {schedd_file} {collector_file}"),
         Step("build", "node_modules/.bin/tsc -p ."),
         Step("run", "node dist/workflow.js " + RUN_ARGS)],
        notes="the generated index.ts needs a rename (service name = port name)",
        auth='node soap ``BasicAuthSecurity``, preemptive'),
    Toolchain(
        "soap4r", "Ruby soap4r (generated driver)", "Ruby", "tests/clients/soap4r/workflow.rb",
        dpkg("ruby-soap4r", "ruby-httpclient") + " && ruby -e 'puts \"ruby #{{RUBY_VERSION}}\"'",
        [Step("generate", "ruby {repo}/tests/clients/soap4r/generate.rb {schedd_file} gen/schedd Schedd "
                          "&& ruby {repo}/tests/clients/soap4r/generate.rb {collector_file} gen/collector Collector"),
         Step("run", "ruby {repo}/tests/clients/soap4r/workflow.rb " + RUN_ARGS)],
        notes="the wsdl2ruby CLI is broken on Ruby 3.1 (the generator API works); sending base64Binary "
              "needs SOAP::SOAPBase64, and a received one comes back base64-encoded twice (soap4r literal-mapping "
              "bug; the wire carries it once)", apt="ruby-soap4r",
        auth='``protocol.http.basic_auth`` (httpclient), answers the 401'),
]

BY_ID = {t.id: t for t in TOOLCHAINS}
