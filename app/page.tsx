import { Demo } from './demo.tsx';

export default function Page() {
  return (
    <main>
      <h1>edgejobs</h1>
      <p className="lede">
        Pick a job, submit it: the route answers <code>202 Accepted</code> at once, a worker runs the job in the
        background, and this page follows it with <code>useJob()</code> until it ends.
      </p>
      <Demo />
    </main>
  );
}
