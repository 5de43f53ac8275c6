-- Helpers nothing calls any more: the lease parser stopped using is_uuid_text (20261122120000,
-- 20261123090000) and enqueue validation stopped using is_json_seconds (20261123100000); both
-- were written inline because SQL functions with their own search_path are never inlined.
-- is_json_int stays: finish_worker_run uses it (once per drain).
drop function edgejobs.is_uuid_text(text);
drop function edgejobs.is_json_seconds(jsonb, double precision, double precision);
