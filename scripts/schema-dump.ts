/**
 * The current schema, as one readable SQL file: every edgejobs table (columns, constraints,
 * indexes, RLS, grants, comments), view, type, function (its definition as Postgres holds it,
 * its grants and comment), trigger and policy that the migrations produce, in a stable order.
 * What `pg_dump --schema-only` gives graphile-worker's `__tests__/schema.sql`; written from the
 * catalog because this machine's pg_dump (15) refuses the PostgreSQL 17 server the tests run.
 * `npm run db:schema` writes supabase/schema.sql; tests/sql/schema.test.ts keeps it in step.
 */
import postgres from 'postgres';

/** The objects of ours: the edgejobs schema, public functions and types no extension owns, our policies. */
export async function dumpSchema(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const out: string[] = [
      '-- edgejobs: the current schema, generated from the migrated database (npm run db:schema).',
      '-- Do not edit: change a migration, then regenerate. tests/sql/schema.test.ts checks it.',
      '',
      'create schema edgejobs;',
    ];
    const comment = (what: string, text: string | null) => (text === null ? [] : [`comment on ${what} is ${literal(text)};`]);
    // Privileges as Postgres holds them (aclitem: grantee=privileges/grantor; an empty grantee is
    // PUBLIC; null: the defaults, which for a function include EXECUTE for PUBLIC).
    const privileges = (acl: string[] | null) => [`-- privileges: ${acl === null ? 'default' : acl.filter((a) => !a.startsWith('postgres=')).join(' ') || 'owner only'}`];

    // Composite types (public.job_details).
    for (const t of await sql`
      select n.nspname as schema, t.typname as name, t.typrelid
      from pg_type t join pg_namespace n on n.oid = t.typnamespace
      where n.nspname in ('public', 'edgejobs') and t.typtype = 'c'
        and (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c'
      order by 1, 2`) {
      const attrs = await sql`select a.attname, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
        where a.attrelid = ${t.typrelid} and a.attnum > 0 and not a.attisdropped order by a.attnum`;
      out.push('', `create type ${t.schema}.${t.name} as (`, attrs.map((a) => `  ${a.attname} ${a.type}`).join(',\n'), ');');
      const [c] = await sql`select obj_description(t.oid, 'pg_type') as c from pg_type t join pg_namespace n on n.oid = t.typnamespace where n.nspname = ${t.schema} and t.typname = ${t.name}`;
      out.push(...comment(`type ${t.schema}.${t.name}`, c?.c ?? null));
    }

    // Tables.
    for (const t of await sql`
      select c.oid, c.relname, c.relrowsecurity, c.reloptions, c.relacl::text[] as acl, obj_description(c.oid, 'pg_class') as comment
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'edgejobs' and c.relkind = 'r' order by c.relname`) {
      const cols = await sql`select a.attname, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull,
          pg_get_expr(d.adbin, d.adrelid) as default, col_description(a.attrelid, a.attnum) as comment
        from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attrelid = ${t.oid} and a.attnum > 0 and not a.attisdropped order by a.attnum`;
      const cons = await sql`select conname, pg_get_constraintdef(oid) as def from pg_constraint where conrelid = ${t.oid} order by conname`;
      const lines = [
        ...cols.map((c) => `  ${c.attname} ${c.type}${c.default !== null ? ` default ${c.default}` : ''}${c.attnotnull ? ' not null' : ''}`),
        ...cons.map((c) => `  constraint ${c.conname} ${c.def}`),
      ];
      out.push('', `create table edgejobs.${t.relname} (`, lines.join(',\n'), ')' + (t.reloptions ? ` with (${t.reloptions.join(', ')})` : '') + ';');
      if (t.relrowsecurity) out.push(`alter table edgejobs.${t.relname} enable row level security;`);
      out.push(...privileges(t.acl));
      out.push(...comment(`table edgejobs.${t.relname}`, t.comment));
      for (const c of cols) out.push(...comment(`column edgejobs.${t.relname}.${c.attname}`, c.comment));
      for (const i of await sql`select pg_get_indexdef(i.indexrelid) as def, obj_description(i.indexrelid, 'pg_class') as comment, ic.relname
          from pg_index i join pg_class ic on ic.oid = i.indexrelid
          where i.indrelid = ${t.oid} and not exists (select from pg_constraint k where k.conindid = i.indexrelid) order by ic.relname`) {
        out.push(`${i.def.replace(/^CREATE /, 'create ').replace(' INDEX ', ' index ').replace(' ON ', ' on ').replace(' USING ', ' using ').replace(' WHERE ', ' where ')};`);
        out.push(...comment(`index edgejobs.${i.relname}`, i.comment));
      }
      for (const g of await sql`select pg_get_triggerdef(oid) as def from pg_trigger where tgrelid = ${t.oid} and not tgisinternal order by tgname`) {
        out.push(`${g.def};`);
      }
    }

    // Views.
    for (const v of await sql`
      select c.relname, c.reloptions, pg_get_viewdef(c.oid) as def, c.relacl::text[] as acl, obj_description(c.oid, 'pg_class') as comment, c.oid
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'edgejobs' and c.relkind = 'v' order by c.relname`) {
      out.push('', `create view edgejobs.${v.relname}${v.reloptions ? ` with (${v.reloptions.join(', ')})` : ''} as`, `${v.def.trimEnd().replace(/;$/, '')};`);
      out.push(...privileges(v.acl));
      out.push(...comment(`view edgejobs.${v.relname}`, v.comment));
      for (const c of await sql`select a.attname, col_description(a.attrelid, a.attnum) as comment from pg_attribute a where a.attrelid = ${v.oid} and a.attnum > 0 order by a.attnum`) {
        out.push(...comment(`column edgejobs.${v.relname}.${c.attname}`, c.comment));
      }
    }

    // Functions: edgejobs' and public's (those no extension owns), by schema and name.
    for (const f of await sql`
      select n.nspname as schema, p.oid::regprocedure::text as signature, pg_get_functiondef(p.oid) as def,
        p.proacl::text[] as acl, obj_description(p.oid, 'pg_proc') as comment
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('public', 'edgejobs')
        and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
      order by n.nspname, p.proname, 2`) {
      const qualified = f.schema === 'public' && !f.signature.startsWith('public.') ? `public.${f.signature}` : f.signature;
      out.push('', `${f.def.trimEnd()};`);
      out.push(...privileges(f.acl));
      out.push(...comment(`function ${qualified}`, f.comment));
    }

    // Policies of ours on other schemas' tables (realtime.messages).
    for (const p of await sql`select schemaname, tablename, policyname, cmd, roles::text[] as roles, qual, with_check
        from pg_policies where policyname like 'edgejobs:%' order by 1, 2, 3`) {
      out.push('', `create policy ${ident(p.policyname)} on ${p.schemaname}.${p.tablename} for ${String(p.cmd).toLowerCase()} to ${(p.roles as string[]).join(', ')}`
        + (p.qual ? `\n  using (${p.qual})` : '') + (p.with_check ? `\n  with check (${p.with_check})` : '') + ';');
    }
    return `${out.join('\n')}\n`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
