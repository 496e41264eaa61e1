// rund interop client in Node (@grpc/grpc-js + @grpc/proto-loader): drives a real rund through Start, Logs (follow,
// with its trailer), Status, List, Stop and an error case, asserting the codes and bytes a user would see.
// Usage: node client.js ADDR CA CERT KEY PROTO_ROOT
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [addr, ca, cert, key, protoRoot] = process.argv.slice(2);
const definition = protoLoader.loadSync('rund/v1/rund.proto', {
  includeDirs: [protoRoot],
  keepCase: true,   // field names as in the .proto (job_id), not jobId
  longs: String,    // int64 as strings: no silent precision loss past 2^53
  enums: String,    // JOB_STATE_EXITED, not 4
  defaults: true,   // 0, "", false and empty lists present instead of undefined
  arrays: true,
  oneofs: true,     // a virtual field naming which member of a oneof is set (LogChunk.kind: "data" or "trailer")
});
const { JobController } = grpc.loadPackageDefinition(definition).rund.v1;
const credentials = grpc.credentials.createSsl(fs.readFileSync(ca), fs.readFileSync(key), fs.readFileSync(cert));
const jobs = new JobController(addr, credentials);
const deadline = (seconds) => ({ deadline: Date.now() + seconds * 1000 });

function fail(what) {
  console.error(`interop node: FAIL: ${what}`);
  process.exit(1);
}
function check(condition, what) { if (!condition) fail(what); }
const call = (method, request, seconds = 30) => new Promise((resolve, reject) =>
  jobs[method](request, deadline(seconds), (error, response) => (error ? reject(error) : resolve(response))));

async function main() {
  const started = await call('Start', { command: 'sh', args: ['-c', 'printf out; printf err >&2; exit 3'] });
  const job = started.job_id;
  check(/^[0-9A-HJKMNP-TV-Z]{26}$/.test(job), `Start returned job id ${job}`);

  const { out, err, trailer } = await new Promise((resolve, reject) => {
    const result = { out: Buffer.alloc(0), err: Buffer.alloc(0), trailer: null };
    const stream = jobs.Logs({ job_id: job, follow: true }, deadline(60));
    stream.on('data', (chunk) => {
      if (chunk.kind === 'data') {
        const which = chunk.data.stream === 'LOG_STREAM_STDOUT' ? 'out' : 'err';
        result[which] = Buffer.concat([result[which], chunk.data.data]);
      } else {
        result.trailer = chunk.trailer;
      }
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(result));
  });
  check(out.toString() === 'out' && err.toString() === 'err', `Logs follow gave stdout ${out}, stderr ${err}`);
  check(trailer && trailer.status.state === 'JOB_STATE_EXITED' && trailer.status.exit_code.value === 3,
    `Logs trailer ${JSON.stringify(trailer)}`);

  // Enough text for rund to compress it (grpc-js accepts gzip): the bytes and offsets must come out exact.
  const numbers = (await call('Start', { command: 'seq', args: ['1', '50000'] })).job_id;
  const text = await new Promise((resolve, reject) => {
    const parts = [];
    let next = 0;
    const stream = jobs.Logs({ job_id: numbers, follow: true }, deadline(60));
    stream.on('data', (chunk) => {
      if (chunk.kind === 'data') {
        const offset = Number(chunk.data.offset);
        if (offset !== next) reject(new Error(`Logs chunk at offset ${offset}, expected ${next}`));
        parts.push(chunk.data.data);
        next += chunk.data.data.length;
      }
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(parts)));
  });
  let expected = '';
  for (let i = 1; i <= 50000; i++) expected += `${i}\n`;
  check(text.toString() === expected, `Logs of seq 1 50000 gave ${text.length} bytes, expected ${expected.length} exact`);

  const { status } = await call('Status', { job_id: job });
  check(status.state === 'JOB_STATE_EXITED' && status.exit_code && status.exit_code.value === 3,
    `Status ${JSON.stringify(status)}`);

  const listed = await call('List', {});
  check(listed.jobs.some((j) => j.id === job), `List does not hold ${job}`);

  const sleeper = (await call('Start', { command: 'sleep', args: ['300'] })).job_id;
  const stopped = (await call('Stop', { job_id: sleeper }, 60)).status;
  check(stopped.state === 'JOB_STATE_EXITED' && stopped.stopped_by_request && stopped.signal.value === 15,
    `Stop ${JSON.stringify(stopped)}`);

  for (const [id, code] of [['0'.repeat(26), grpc.status.NOT_FOUND], ['not-a-job-id', grpc.status.INVALID_ARGUMENT]]) {
    try {
      await call('Status', { job_id: id });
      fail(`Status of ${id} succeeded`);
    } catch (e) {
      check(e.code === code, `Status of ${id}: code ${e.code} (${e.details}), not ${code}`);
    }
  }
  jobs.close();
  console.log(`interop node: Start, Logs follow + trailer, 289 KB of Logs exact, Status, List, Stop, NOT_FOUND, INVALID_ARGUMENT: ok (node ${process.version})`);
}

main().catch((e) => fail(e.stack || e));
