// Worker threads (V8 isolates on their own threads), code compiled at
// run time (new Function), and typed arrays: JIT code written and rewritten.
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
if (isMainThread) {
	const ps = [];
	for (let k = 0; k < 3; k++)
		ps.push(new Promise((res, rej) => {
			const w = new Worker(__filename, { workerData: k });
			w.on('message', res); w.on('error', rej);
		}));
	Promise.all(ps).then(r => {
		console.log(r.join(' '));
		let s = 0;
		for (let j = 0; j < 20; j++) {
			const f = new Function('a', `return a * ${j + 3} + ${j}`);
			for (let i = 0; i < 2e4; i++) s = (s + f(i)) % 1000007;
		}
		const a = new Float64Array(1e5).map((_, i) => Math.sin(i));
		console.log(s, a.reduce((x, y) => x + y).toFixed(9), JSON.stringify({ x: [1, 2, { y: 'z' }] }));
	});
} else {
	let s = 0;
	for (let i = 0; i < 1e6; i++) s = (s + i * (workerData + 1)) % 999983;
	parentPort.postMessage(s);
}
