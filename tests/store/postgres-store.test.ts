import { useTestDb, userClaims } from '../support/db.ts';
import { storeConformance } from './conformance.ts';

const db = useTestDb();

storeConformance('postgres.js', () => ({
  service: () => db.store,
  asUser: async (id) => db.store.withAuth({ role: 'authenticated', claims: userClaims(id) }),
  asAnon: async () => db.store.withAuth({ role: 'anon', claims: { role: 'anon' } }),
  rows: (query, params = []) => db.sql.unsafe(query, params as never[]),
}));
