// Entry point of the `grenier` command (bin/grenier.js and `npm start` load this file).
import { main } from './program.ts';

// Not process.exit(): stdout must drain, and `grenier server` keeps running on its listeners.
process.exitCode = await main(process.argv);
