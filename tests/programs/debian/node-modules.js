// Node's native modules: a child process, zlib, crypto (OpenSSL inside
// node), timers and promises in order.
const cp = require('child_process');
const zlib = require('zlib');
const crypto = require('crypto');
console.log(cp.execFileSync('/bin/echo', ['from child']).toString().trim());
console.log(cp.execSync('ls / | wc -l').toString().trim() > 0);
const z = zlib.gzipSync(Buffer.alloc(100000, 7));
console.log(z.length, zlib.gunzipSync(z).length);
console.log(crypto.createHash('sha256').update('x').digest('hex'));
console.log(crypto.pbkdf2Sync('p', 's', 1000, 32, 'sha512').toString('hex'));
setTimeout(() => console.log('timer 2'), 20);
setTimeout(() => console.log('timer 1'), 1);
Promise.resolve().then(() => console.log('microtask'));
