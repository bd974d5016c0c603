"""Clubs (issue 15, item 5): beekeepers' associations with members, which can own apiaries.

A club's joined organisers are owners of its apiaries. So that the access rule stays one rule,
the view apiary_roles gathers everyone's role in every apiary (its members, and the organisers
of the club that owns it, as owners); app/web/auth.py reads it, and so does the function
apiary_for that places a new hive.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
ROLES = ("organiser", "member")

APIARY_ROLES = """
    CREATE VIEW apiary_roles AS
    SELECT apiary_id, user_id, role FROM apiary_members
    UNION ALL
    SELECT apiary.id, organiser.user_id, 'owner'::apiary_role
    FROM apiaries AS apiary JOIN club_members AS organiser ON organiser.club_id = apiary.club_id
    WHERE organiser.role = 'organiser' AND organiser.joined_at IS NOT NULL
"""

# Where a new hive goes (see 0018): the same rule, with every role the user has in an apiary.
APIARY_FOR = """
    CREATE OR REPLACE FUNCTION apiary_for(asker int, wanted text, at geometry, unnamed text)
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
            SELECT member.apiary_id FROM {roles} AS member
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


def upgrade() -> None:
    role = postgresql.ENUM(*ROLES, name="club_role", create_type=False)
    postgresql.ENUM(*ROLES, name="club_role").create(op.get_bind())
    op.create_table(
        "clubs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_table(
        "club_members",
        sa.Column(
            "club_id", sa.Integer(), sa.ForeignKey("clubs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("role", role, nullable=False),
        sa.Column("invited_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("joined_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index("ix_club_members_user_id", "club_members", ["user_id"])
    op.add_column("apiaries", sa.Column("club_id", sa.Integer()))
    op.create_foreign_key(
        "apiaries_club_id_fkey", "apiaries", "clubs", ["club_id"], ["id"], ondelete="SET NULL"
    )
    op.create_index("ix_apiaries_club_id", "apiaries", ["club_id"])
    op.execute(APIARY_ROLES)
    op.execute(APIARY_FOR.format(roles="apiary_roles"))


def downgrade() -> None:
    op.execute(APIARY_FOR.format(roles="apiary_members"))
    op.execute("DROP VIEW apiary_roles")
    op.drop_index("ix_apiaries_club_id", "apiaries")
    op.drop_constraint("apiaries_club_id_fkey", "apiaries", type_="foreignkey")
    op.drop_column("apiaries", "club_id")
    op.drop_table("club_members")
    op.drop_table("clubs")
    postgresql.ENUM(name="club_role").drop(op.get_bind())
