/**
 * The demo's edgejobs wiring: its registry's routes, from the package as any app gets them
 * (edgejobs/next reads the store, keys and secrets from the environment on first use).
 */
import { nextJobs } from 'edgejobs/next';
import { demoRegistry } from './demo-jobs.ts';

export const jobs = nextJobs({ registry: demoRegistry });
