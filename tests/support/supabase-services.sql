-- STAND-INS for two Supabase services that are not available as packages here, keeping their
-- SQL signatures. Loaded by tests only, after the migrations (which look these up at run time).
--
-- pg_net: net.http_post() queues the request in net.http_request_queue, exactly as pg_net does;
-- the queue is drained by a small worker in the test process (tests/support/pg-net.ts) that
-- really sends each request, as pg_net's background worker does, and stores the answer in
-- net._http_response. Like pg_net, nothing is sent before the enqueuing transaction commits.
create schema if not exists net;
create table if not exists net.http_request_queue (
  id bigserial primary key,
  method text not null,
  url text not null,
  headers jsonb not null,
  body bytea,
  timeout_milliseconds integer not null
);
create unlogged table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql volatile
as $$
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', url, coalesce(headers, '{}'::jsonb), convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id
$$;

-- Vault: secrets stored by vault.create_secret() and read back through the decrypted_secrets
-- view. (Supabase encrypts them at rest; the stand-in keeps only the interface.)
create schema if not exists vault;
create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text unique,
  secret text not null,
  created_at timestamptz not null default now()
);
create or replace view vault.decrypted_secrets as
  select id, name, secret as decrypted_secret, created_at from vault.secrets;
create or replace function vault.create_secret(new_secret text, new_name text default null, new_description text default '')
returns uuid
language sql volatile
as $$
  insert into vault.secrets (name, secret) values (new_name, new_secret)
  on conflict (name) do update set secret = excluded.secret
  returning id
$$;
