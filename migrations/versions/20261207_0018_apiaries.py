"""Apiaries shared by their members (issue 15). Each owner's hives of one site become one
apiary named after it (the hives without a site, one named "My apiary"), at the centre of its
hives, with the owner as its owner; no hive, site name or record is lost. The site column goes:
a hive's site is its apiary's name from here on. Inspections remember who recorded them (the
hive's owner, for those recorded before), and so do colony events.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
ROLES = ("owner", "keeper", "viewer")
UNNAMED = "My apiary"

# One apiary per (owner, site), numbered first so that hives and members can name it.
SITES = """
    CREATE TEMPORARY TABLE site_apiaries ON COMMIT DROP AS
    SELECT nextval(pg_get_serial_sequence('apiaries', 'id')) AS apiary_id, owner_id, site,
           ST_Centroid(ST_Collect(location)) AS centre, min(created_at) AS since
    FROM (SELECT owner_id, coalesce(site, '') AS site, location, created_at FROM hives) AS hive
    GROUP BY owner_id, site
"""
APIARIES = """
    INSERT INTO apiaries (id, name, location, created_at)
    SELECT apiary_id, CASE WHEN site = '' THEN :unnamed ELSE site END, centre, since
    FROM site_apiaries
"""
HIVES = """
    UPDATE hives SET apiary_id = site_apiaries.apiary_id FROM site_apiaries
    WHERE site_apiaries.owner_id = hives.owner_id AND site_apiaries.site = coalesce(hives.site, '')
"""
OWNERS = """
    INSERT INTO apiary_members (apiary_id, user_id, role, added_at)
    SELECT apiary_id, owner_id, 'owner', since FROM site_apiaries
"""


# The one rule of where a new hive goes (app/hives/queries.py: apiary_named, the demo data and
# the benchmarks call it; the seed's generated city makes the same apiaries in bulk for its new
# accounts): the apiary of that name among those the user may change hives in, the earliest;
# without a name, their earliest; else a new one that they own, at the hive.
APIARY_FOR = """
    CREATE FUNCTION apiary_for(asker int, wanted text, at geometry, unnamed text)
    RETURNS int LANGUAGE plpgsql VOLATILE
    -- Planned at each call: a plan kept from the first calls, made while the tables were empty
    -- (the seed calls this for each of 100,000 hives in one statement), scanned every apiary
    -- membership for each hive.
    SET plan_cache_mode = force_custom_plan
    AS $$
    DECLARE found int; candidate int;
    BEGIN
        -- The user's own apiaries (a few rows, by the user_id index), each looked up by its key:
        -- no statement here may walk every apiary, whatever the statistics say.
        FOR candidate IN
            SELECT member.apiary_id FROM apiary_members AS member
            WHERE member.user_id = asker AND member.role IN ('owner', 'keeper')
            ORDER BY member.apiary_id
        LOOP
            SELECT apiary.id INTO found FROM apiaries AS apiary
            WHERE apiary.id = candidate AND apiary.archived_at IS NULL
              AND (wanted IS NULL OR apiary.name = wanted);
            EXIT WHEN found IS NOT NULL;
        END LOOP;
        IF found IS NULL THEN
            INSERT INTO apiaries (name, location) VALUES (coalesce(wanted, unnamed), at)
            RETURNING id INTO found;
            INSERT INTO apiary_members (apiary_id, user_id, role) VALUES (found, asker, 'owner');
        END IF;
        RETURN found;
    END $$
"""


# A user's access version moves on whenever their memberships change: their phone's saved pages
# of apiaries they may no longer see are forgotten when it does (app/pwa/owner.py, static/js/sw.js).
ACCESS_VERSION = """
    CREATE FUNCTION bump_access_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE users SET access_version = access_version + 1 WHERE id = OLD.user_id;
        END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id <> OLD.user_id) THEN
            UPDATE users SET access_version = access_version + 1 WHERE id = NEW.user_id;
        END IF;
        RETURN NULL;
    END $$
"""
ACCESS_TRIGGER = """
    CREATE TRIGGER apiary_members_access AFTER INSERT OR UPDATE OR DELETE ON apiary_members
    FOR EACH ROW EXECUTE FUNCTION bump_access_version()
"""


def upgrade() -> None:
    role = postgresql.ENUM(*ROLES, name="apiary_role", create_type=False)
    postgresql.ENUM(*ROLES, name="apiary_role").create(op.get_bind())
    op.create_table(
        "apiaries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("address", sa.String(300), nullable=False, server_default=""),
        sa.Column("registration_number", sa.String(50)),
        sa.Column("notes", sa.Text(), nullable=False, server_default=""),
        sa.Column("archived_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_table(
        "apiary_members",
        sa.Column(
            "apiary_id",
            sa.Integer(),
            sa.ForeignKey("apiaries.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("role", role, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index("ix_apiary_members_user_id", "apiary_members", ["user_id"])
    op.create_table(
        "apiary_invitations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "apiary_id",
            sa.Integer(),
            sa.ForeignKey("apiaries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", role, nullable=False),
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("invitee_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("invited_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.Column("used_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("(token_hash IS NULL) <> (invitee_id IS NULL)", name="link_or_invitee"),
    )
    op.create_index("ix_apiary_invitations_apiary_id", "apiary_invitations", ["apiary_id"])
    op.create_index("ix_apiary_invitations_invitee_id", "apiary_invitations", ["invitee_id"])

    op.add_column("hives", sa.Column("apiary_id", sa.Integer()))
    op.execute(SITES)
    op.execute(sa.text(APIARIES).bindparams(unnamed=UNNAMED))
    op.execute(HIVES)
    op.execute(OWNERS)
    op.alter_column("hives", "apiary_id", nullable=False)
    op.create_foreign_key(
        "hives_apiary_id_fkey", "hives", "apiaries", ["apiary_id"], ["id"], ondelete="RESTRICT"
    )
    op.create_index("ix_hives_apiary_id", "hives", ["apiary_id"])
    op.drop_column("hives", "site")
    op.execute(APIARY_FOR)
    op.add_column(
        "users",
        sa.Column("access_version", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute(ACCESS_VERSION)
    op.execute(ACCESS_TRIGGER)

    op.add_column(
        "inspections",
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
    )
    op.execute(
        "UPDATE inspections SET recorded_by = hives.owner_id FROM hives"
        " WHERE hives.id = inspections.hive_id"
    )
    op.add_column(
        "colony_events",
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
    )
    op.execute(
        "UPDATE colony_events SET recorded_by = colonies.owner_id FROM colonies"
        " WHERE colonies.id = colony_events.colony_id"
    )


def downgrade() -> None:
    op.drop_column("colony_events", "recorded_by")
    op.execute("DROP TRIGGER apiary_members_access ON apiary_members")
    op.execute("DROP FUNCTION bump_access_version()")
    op.drop_column("users", "access_version")
    op.execute("DROP FUNCTION apiary_for(int, text, geometry, text)")
    op.drop_column("inspections", "recorded_by")
    op.add_column("hives", sa.Column("site", sa.String(100)))
    op.execute(
        sa.text(
            "UPDATE hives SET site = NULLIF(apiaries.name, :unnamed) FROM apiaries"
            " WHERE apiaries.id = hives.apiary_id"
        ).bindparams(unnamed=UNNAMED)
    )
    op.drop_index("ix_hives_apiary_id", "hives")
    op.drop_constraint("hives_apiary_id_fkey", "hives", type_="foreignkey")
    op.drop_column("hives", "apiary_id")
    op.drop_table("apiary_invitations")
    op.drop_table("apiary_members")
    op.drop_table("apiaries")
    postgresql.ENUM(name="apiary_role").drop(op.get_bind())
