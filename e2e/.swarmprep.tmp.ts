import { StackDeployment } from "./deploy/stackDeployment";
import { deployTools } from "./deploy/prepare";
import { cliConfig, NOT_DEPLOYED, stackFileSettings } from "./support/e2eStack";
import { readFileSync } from "node:fs";
(async () => {
  const s = { ...stackFileSettings("swarm"), swarm: { publishMode: "ingress", encryptedNetwork: true, dialAddress: "10.77.0.1" } };
  const d = await StackDeployment.prepare({ stack: "e2eswarm", config: cliConfig(s), notDeployed: NOT_DEPLOYED, tools: deployTools(), workDir: "/tmp/swarmprep", dockerHost: "unix:///run/tsswarm-1/docker.sock" });
  const tf = JSON.parse(readFileSync("/tmp/swarmprep/resources.tf.json", "utf8"));
  console.log(Object.keys(tf.resource), Object.keys(tf.resource.docker_service ?? {}));
  console.log(JSON.stringify(tf.resource.docker_service.tempoIngester, null, 1).slice(0, 4000));
  console.log(d.deployed.length);
})().catch((e) => { console.error(e); process.exit(1); });
