// Tests run on the compiled output (npm test builds first). Integration tests mount
// for real and start servers, so they get long timeouts and limited concurrency.
export default {
  files: ['dist/test/**/*.test.js'],
  timeout: '5m',
  concurrency: 2,
  workerThreads: false,
  verbose: false,
};
