// The process-jobs worker: pg_cron starts it, an enqueue kicks it, it drains the queue and hands
// back what it cannot finish. The same three lines as in an app that ran `npx edgejobs init`;
// this repo's deno.json maps `edgejobs` to the package's source instead of npm:edgejobs.
import { serveProcessJobs } from 'edgejobs/edge';
import { registry } from './jobs.ts';

serveProcessJobs({ registry });
