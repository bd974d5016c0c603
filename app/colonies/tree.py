"""The family tree: which colony came from which, read from the events that link them.

A split makes its daughter the child of the colony it came from; a swarm captured from one of
the user's own colonies is that colony's child; a union makes the colony that stayed the child
of the one joined into it as well, so two lineages meet in it; and a colony whose queen is the
daughter of a queen who heads (or headed) another colony is that colony's child through her
(drawn as a requeening). The tree is built from two queries of the user's links, and drawn as
nested lists (templates/partials/colonies/macros.html).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.colonies.queries import colony_access, in_apiary
from app.models import Colony, ColonyEvent, ColonyEventKind, Queen


@dataclass(frozen=True)
class Link:
    parent: int
    child: int
    kind: ColonyEventKind
    on: date


@dataclass
class Node:
    """A colony in a tree, with how it is linked to the node above it, and the ones below."""

    colony: Colony
    kind: ColonyEventKind | None = None
    on: date | None = None
    below: list[Node] = field(default_factory=list)


async def links_of(db: AsyncSession, user_id: int) -> list[Link]:
    """Every parent-child link from the colonies `user_id` may read (Family keeps those between
    two of them)."""
    rows = await db.execute(
        select(
            ColonyEvent.colony_id,
            ColonyEvent.other_colony_id,
            ColonyEvent.kind,
            ColonyEvent.happened_on,
        )
        .join(Colony, Colony.id == ColonyEvent.colony_id)
        .where(
            colony_access(user_id),
            ColonyEvent.other_colony_id.is_not(None),
            ColonyEvent.kind.in_(
                (ColonyEventKind.split, ColonyEventKind.union, ColonyEventKind.swarm_captured)
            ),
        )
        .order_by(ColonyEvent.happened_on, ColonyEvent.id)
    )
    links = []
    for colony_id, other_id, kind, on in rows:
        assert other_id is not None  # as the query asks
        if kind == ColonyEventKind.split:  # the daughter is the other colony
            links.append(Link(parent=colony_id, child=other_id, kind=kind, on=on))
        else:  # the colony joined into this one, or the colony the swarm came from
            links.append(Link(parent=other_id, child=colony_id, kind=kind, on=on))
    linked = {(link.parent, link.child) for link in links}
    for link in await queen_links_of(db, user_id):
        if (link.parent, link.child) not in linked:  # a split's daughter raising her own queen
            linked.add((link.parent, link.child))
            links.append(link)
    return links


async def queen_links_of(db: AsyncSession, user_id: int) -> list[Link]:
    """A link from the colony of each queen's mother to the colony the daughter heads, where
    they differ: a colony requeened with a queen reared from another's comes from that one too."""
    daughter, mother = aliased(Queen), aliased(Queen)
    on = func.coalesce(daughter.introduced_on, cast(daughter.created_at, Date))
    rows = await db.execute(
        select(mother.colony_id, daughter.colony_id, on)
        .join(mother, mother.id == daughter.mother_id)
        .join(Colony, Colony.id == daughter.colony_id)
        .where(colony_access(user_id), mother.colony_id != daughter.colony_id)
        .order_by(on, daughter.id)
    )
    return [
        Link(parent=parent, child=child, kind=ColonyEventKind.requeen, on=day)
        for parent, child, day in rows
        if parent is not None and child is not None  # as the query asks
    ]


@dataclass
class Family:
    """The user's colonies and the links between them."""

    colonies: dict[int, Colony]
    links: list[Link]

    def _grow(
        self, colony_id: int, step: dict[int, list[tuple[int, Link]]], seen: set[int]
    ) -> list[Node]:
        nodes = []
        for other, link in step.get(colony_id, []):
            if other in seen or other not in self.colonies:
                continue
            below = self._grow(other, step, seen | {other})
            nodes.append(Node(self.colonies[other], link.kind, link.on, below))
        return nodes

    def _children(self) -> dict[int, list[tuple[int, Link]]]:
        children: dict[int, list[tuple[int, Link]]] = defaultdict(list)
        for link in self.links:
            children[link.parent].append((link.child, link))
        return children

    def _parents(self) -> dict[int, list[tuple[int, Link]]]:
        parents: dict[int, list[tuple[int, Link]]] = defaultdict(list)
        for link in self.links:
            parents[link.child].append((link.parent, link))
        return parents

    def descendants(self, colony_id: int) -> list[Node]:
        """The colonies that came from this one, each with its own below it."""
        return self._grow(colony_id, self._children(), {colony_id})

    def ancestors(self, colony_id: int) -> list[Node]:
        """The colonies this one came from, each with its own ancestors below it."""
        return self._grow(colony_id, self._parents(), {colony_id})

    def lineages(self) -> list[Node]:
        """Every colony that came from none of the user's, with all that came from it."""
        parents = self._parents()
        return [
            Node(colony, below=self.descendants(colony.id))
            for colony in self.colonies.values()
            if colony.id not in parents
        ]


async def family_of(db: AsyncSession, user_id: int, apiary_id: int | None = None) -> Family:
    """The colonies `user_id` may read (those of the apiary `apiary_id`, if given), and the
    links between them: their family tree."""
    colonies = await db.scalars(
        select(Colony)
        .where(colony_access(user_id), in_apiary(apiary_id))
        .order_by(Colony.started_on, Colony.id)
    )
    return Family({colony.id: colony for colony in colonies}, await links_of(db, user_id))
