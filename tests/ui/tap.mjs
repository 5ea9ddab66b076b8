// tests/ui/tap.mjs: the TAP runner of the node suites that list their
// tests with test(name, fn) and end with `await run()`. Not a suite itself.

const tests = [];

export function test(name, fn) {
  tests.push([name, fn]);
}

// Runs every test in order (an async one is awaited), prints TAP on
// stdout, and sets the exit status: 1 when any failed.
export async function run() {
  console.log(`1..${tests.length}`);
  let failed = 0;
  for (const [i, [name, fn]] of tests.entries()) {
    try {
      await fn();
      console.log(`ok ${i + 1} - ${name}`);
    } catch (e) {
      failed++;
      console.log(`not ok ${i + 1} - ${name}`);
      for (const line of String(e && e.stack ? e.stack : e).split('\n')) console.log(`# ${line}`);
    }
  }
  process.exitCode = failed ? 1 : 0;
}
