"""resource search terms in their own table (resource_terms), replacing resources.search_terms

A resource's character bigrams become rows (resource_id, term) with copies of its scope, owner and
province (so each row has the resource's own visibility) and of what search filters and orders by.
Under RLS the old ``string_to_array(search_terms, ' ') @> ...`` could not use its GIN index before
the resources policy (the operator is not leakproof): the policy ran on every visible resource,
1.7 s at 100 k resources. ``term = ...`` is leakproof, and the index below walks a word's rows in
the order of the page, so a page reads a page of candidates.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa

from hanaro.tenancy import rls

# The policies this migration installs, frozen when it was written (migrations/policies/).
POLICIES = rls.frozen(__file__)

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# Written as SQL (DESC columns, a partial index): test_migrations lists them as migration-only. On
# PostgreSQL each also carries the columns its policy and filters read, so counting a common word's
# first 1 000 matches is an index-only scan (62 buffers at 100 k resources instead of 3 207).
INDEXES = [
    # Resource search: a word's rows, available first, most recently verified, by name.
    ("CREATE INDEX ix_resource_terms_rank ON resource_terms "
     "(term, available DESC, last_verified_on DESC, name, resource_id)",
     "INCLUDE (tenant_id, scope, province_code, capacity, min_age, max_age)"),
    # The public directory: a word's public rows by name.
    ("CREATE INDEX ix_resource_terms_public_name ON resource_terms (term, name, resource_id)",
     "INCLUDE (tenant_id, scope, province_code, last_verified_on)", "WHERE scope = 'public'"),
]

COPIES = ("tenant_id, resource_id, term, scope, province_code, capacity, available, last_verified_on, name, min_age, "
          "max_age")

# The bigrams of each word of name, description and organisation (resources.search.tokens), in SQL.
BACKFILL_POSTGRESQL = f"""
INSERT INTO resource_terms ({COPIES})
SELECT DISTINCT r.tenant_id, r.id, t.term, r.scope, r.province_code, r.capacity, r.capacity = 'available',
       r.last_verified_on,
       r.name, r.min_age, r.max_age
FROM resources r
CROSS JOIN LATERAL regexp_matches(lower(coalesce(r.name, '') || ' ' || coalesce(r.description, '') || ' '
                                        || coalesce(r.organization_name, '')), '[0-9a-z가-힣]+', 'g') AS w(m)
CROSS JOIN LATERAL (SELECT CASE WHEN length(w.m[1]) = 1 THEN w.m[1] ELSE substr(w.m[1], i, 2) END
                    FROM generate_series(1, greatest(length(w.m[1]) - 1, 1)) AS i) AS t(term)
"""


def upgrade():
    op.create_table('resource_terms',
    sa.Column('resource_id', ID, nullable=False),
    sa.Column('term', sa.String(length=2), nullable=False),
    sa.Column('scope', sa.Enum('private', 'partners', 'region', 'platform', 'public', name='scope', native_enum=False,
                               length=20), nullable=False),
    sa.Column('province_code', sa.String(length=10), nullable=True),
    sa.Column('capacity', sa.Enum('available', 'waitlist', 'full', name='capacity', native_enum=False, length=20),
              nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('last_verified_on', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('min_age', sa.Integer(), nullable=True),
    sa.Column('max_age', sa.Integer(), nullable=True),
    sa.Column('tenant_id', ID, nullable=False),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_resource_terms_resource_id_resources'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_resource_terms_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_terms')),
    sa.UniqueConstraint('resource_id', 'term', 'tenant_id', name=op.f('uq_resource_terms_resource_id_term_tenant_id'))
    )
    op.create_index(op.f('ix_resource_terms_tenant_id'), 'resource_terms', ['tenant_id'], unique=False)
    _backfill()
    postgres = op.get_bind().dialect.name == "postgresql"
    for create, include, *where in INDEXES:
        op.execute(" ".join([create, *([include] if postgres else []), *where]))
    if postgres:
        op.execute("DROP INDEX IF EXISTS ix_resources_search_terms")
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_column('search_terms')
    for table, entry in POLICIES.items():
        rls.install(op, table, entry)


def _backfill():
    """Every resource's terms. Migrations run as the tables' owner, which FORCE ROW LEVEL SECURITY
    subjects to the policies (no tenant here: no rows), so lift it for this one statement."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        _backfill_portably(bind)
        return
    op.execute("ALTER TABLE resources NO FORCE ROW LEVEL SECURITY")
    op.execute(BACKFILL_POSTGRESQL)
    op.execute("ALTER TABLE resources FORCE ROW LEVEL SECURITY")


def _backfill_portably(bind):
    from hanaro.resources.search import tokens

    resources = bind.execute(sa.text(
        "SELECT id, tenant_id, name, description, organization_name, scope, province_code, capacity, "
        "last_verified_on, min_age, max_age FROM resources")).mappings().all()
    rows = [{"tenant_id": r["tenant_id"], "resource_id": r["id"], "term": term, "scope": r["scope"],
             "province_code": r["province_code"], "capacity": r["capacity"], "available": r["capacity"] == "available",
             "last_verified_on": r["last_verified_on"], "name": r["name"], "min_age": r["min_age"],
             "max_age": r["max_age"]}
            for r in resources
            for term in sorted(tokens(" ".join(filter(None, [r["name"], r["description"], r["organization_name"]]))))]
    if rows:
        names = COPIES.split(", ")
        bind.execute(sa.text(f"INSERT INTO resource_terms ({COPIES}) VALUES ({', '.join(':' + n for n in names)})"),
                     rows)


def downgrade():
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_terms', sa.Text(), nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE resources NO FORCE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE resource_terms NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE resources SET search_terms = (SELECT group_concat(term, ' ') FROM resource_terms t "
               "WHERE t.resource_id = resources.id)" if not postgres else
               "UPDATE resources SET search_terms = (SELECT string_agg(term, ' ' ORDER BY term) FROM resource_terms t "
               "WHERE t.resource_id = resources.id)")
    if postgres:
        op.execute("ALTER TABLE resources FORCE ROW LEVEL SECURITY")
        op.execute("CREATE INDEX ix_resources_search_terms ON resources USING gin (string_to_array(search_terms, ' '))")
    op.drop_table('resource_terms')
