-- Supabase compatibility bootstrap, for plain PostgreSQL in tests and local development.
--
-- NEVER part of the deployed migrations: a Supabase project already has all of this.
-- It recreates just enough of a Supabase database for supabase/migrations to apply and
-- behave as they do on Supabase: the API roles, auth.uid()/auth.role()/auth.jwt() reading
-- the claims PostgREST sets, the `extensions` schema, the `supabase_realtime` publication,
-- and Supabase's default privileges on `public` (so our explicit revokes are tested
-- against the same permissive defaults a real project has). Idempotent.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    -- PostgREST logs in as authenticator and switches to the role named in the JWT.
    create role authenticator login noinherit;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;

create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

-- The three helpers below are copied in behaviour from Supabase's auth schema: they read the
-- JWT claims that PostgREST puts in `request.jwt.claims` (and the older per-claim settings).
create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.jwt() to anon, authenticated, service_role;

-- Supabase's defaults on `public`: the API roles may use it, and new functions are executable
-- by them unless a migration revokes it (ours do).
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant execute on functions to anon, authenticated, service_role;

do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;

-- STAND-IN for the database side of Supabase Realtime (Broadcast from the database). On
-- Supabase these belong to the Realtime service; here they keep the same SQL signatures so our
-- trigger and RLS policy can be applied and tested: realtime.messages (the table Realtime reads
-- broadcasts from and checks channel joins against with RLS), realtime.send() (inserts one
-- broadcast), realtime.topic() (the topic of the channel being authorised, which Realtime puts
-- in the `realtime.topic` setting before it runs the RLS check as the joining user).
create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;
create table if not exists realtime.messages (
  id uuid not null default gen_random_uuid(),
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp without time zone not null default now(),
  inserted_at timestamp without time zone not null default now(),
  primary key (id, inserted_at)
);
alter table realtime.messages enable row level security;
grant select, insert on realtime.messages to anon, authenticated;
grant all on realtime.messages to service_role;

create or replace function realtime.topic() returns text
language sql stable
as $$ select nullif(current_setting('realtime.topic', true), '')::text $$;

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true) returns void
language plpgsql security definer set search_path = ''
as $$
begin
  insert into realtime.messages (payload, event, topic, private, extension)
  values (send.payload, send.event, send.topic, send.private, 'broadcast');
end
$$;
grant execute on function realtime.topic() to anon, authenticated, service_role;
