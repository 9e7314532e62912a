// Entry point of the `grenier` command (bin/grenier.js and `npm start` load this file).
import { main } from './program.ts';
import { handleBrokenPipes } from './broken-pipe.ts';

handleBrokenPipes();

// Not process.exit(): stdout must drain, and `grenier server` keeps running on its listeners.
process.exitCode = await main(process.argv);
