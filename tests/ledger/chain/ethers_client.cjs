// A client we did not write: ethers.js drives the embedded node over HTTP.
// Usage: node ethers_client.cjs URL PRIVATE_KEY ARTIFACT_JSON — prints one JSON line of results.
const { ethers } = require("ethers");
const fs = require("fs");

async function main() {
  const [url, key, artifactPath] = process.argv.slice(2);
  const artifact = JSON.parse(fs.readFileSync(artifactPath, "utf8"));
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 50 });
  const wallet = new ethers.NonceManager(new ethers.Wallet(key, provider));
  const network = await provider.getNetwork();
  const factory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, wallet);
  const beacon = await factory.deploy();
  await beacon.waitForDeployment();
  const receipt = await (await beacon.ping(5)).wait();
  const count = await beacon.count();
  const logs = await beacon.queryFilter(beacon.filters.Pinged(), 0, "latest");
  let customError = null;
  try {
    await beacon.ping.staticCall(0);
  } catch (err) {
    customError = err.revert ? err.revert.name : `undecoded: ${err.code} ${err.data}`;
  }
  let sendError = null;
  try {
    await beacon.ping(0);
  } catch (err) {
    // ethers leaves the estimateGas revert undecoded (as on anvil): decode its data with the ABI.
    const parsed = err.data ? beacon.interface.parseError(err.data) : null;
    sendError = parsed ? parsed.name : `undecoded: ${err.code}`;
  }
  console.log(JSON.stringify({
    chainId: network.chainId.toString(),
    address: await beacon.getAddress(),
    status: receipt.status,
    count: count.toString(),
    logs: logs.map((l) => ({ sender: l.args.sender, count: l.args.count.toString() })),
    customError,
    sendError,
  }));
}

main().catch((err) => { console.error(err); process.exit(1); });
