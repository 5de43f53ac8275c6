// The job types this worker runs: the app's registry, imported from outside supabase/ (deploy
// with `supabase functions deploy process-jobs --use-api`, which bundles such imports).
export { demoRegistry as registry } from '../../../app/_server/demo-jobs.ts';
