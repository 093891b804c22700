// The client-matrix workflow with strong-soap (a dynamic client, like node soap):
//   node workflow.js URL [SCHEDD_WSDL COLLECTOR_WSDL]
// The steps are examples/javascript/condor_workflow.js's; only the SOAP stack differs.
// With credentials: CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... node workflow.js URL
// sends HTTP Basic auth on every call, preemptively (client.setSecurity(new BasicAuthSecurity(...))).
'use strict';
const path = require('path');
const { soap } = require('strong-soap');
const { run } = require(path.join(__dirname, '..', '..', '..', 'examples', 'javascript', 'condor_workflow.js'));

// strong-soap has callbacks only; the result is the operation's response wrapper
const strongSoap = {
  connect: (wsdl, endpoint, credentials) => new Promise((resolve, reject) => {
    soap.createClient(wsdl, {}, (error, client) => {
      if (error) return reject(error);
      client.setEndpoint(endpoint); // the WSDL's soap:address may be anything
      if (credentials) client.setSecurity(new soap.BasicAuthSecurity(credentials.user, credentials.password));
      resolve(client);
    });
  }),
  invoke: (client, op, args = {}) => new Promise((resolve, reject) => {
    client[op](args, (error, result) => (error ? reject(error) : resolve(result)));
  }),
};

run(strongSoap);
