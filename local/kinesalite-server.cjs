// kinesalite on 127.0.0.1:<port> (argv[2]), in memory, streams active at once.
const kinesalite = require('kinesalite');

const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 200 });
server.listen(Number(process.argv[2]), '127.0.0.1', () => process.stdout.write('listening\n'));
