"""Medicines kept, treatments given, the withdrawal guard on harvests, and the register.

Each refusal is a 422 with its message beside the field and nothing saved; stock follows
purchases, treatments and disposals; a harvest inside a withdrawal period (or with strips in)
is refused with the first day it is allowed, on the form and on the API.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

import aiohttp
from babel.dates import format_date
from sqlalchemy import func, select

from app.main import create_app
from app.models import (
    Harvest,
    MedicineDisposal,
    MedicinePurchase,
    PurchaseProof,
    TreatedHive,
    Treatment,
)
from app.treatments import queries
from app.treatments.register import REGISTER_COLUMNS
from app.web import i18n
from tests.unit.conftest import csrf_token, log_in, make_user
from tests.unit.test_field_log_data import api_key
from tests.unit.test_hives import new_hive_id

TODAY = date.today()


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def shown(day: date) -> str:
    """A date as an English page writes it: 8 October 2026."""
    return f"{day.day} {day:%B} {day.year}"


PURCHASE = {
    "product": "Oxybee",
    "batch": "OX-114",
    "expires_on": (TODAY + timedelta(days=400)).isoformat(),
    "supplier_name": "Imkerei Bedarf Schmidt",
    "supplier_address": "Lindenstraße 4, 10969 Berlin",
    "purchased_on": ago(60),
    "quantity": "100",
    "unit": "ml",
    "invoice_number": "R-2026-0815",
}


async def post_form(client, path: str, form_path: str, fields, key: str | None = None):
    token = await csrf_token(client, form_path)
    data = [("_csrf", token), *(fields.items() if isinstance(fields, dict) else fields)]
    if key:
        data.append(("idempotency_key", key))
    return await client.post(path, data=data, allow_redirects=False)


async def buy(client, key: str | None = None, **fields: str) -> int:
    response = await post_form(client, "/medicines", "/medicines/new", PURCHASE | fields, key)
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


def treatment_fields(hive_ids: list[int], purchase_id: int, **fields: str) -> list[tuple[str, str]]:
    given = {
        "purchase_id": str(purchase_id),
        "started_on": ago(30),
        "dose": "5 ml per seam",
        "quantity": "30",
        "method": "trickling",
        "duration_days": "3",
        "withdrawal_days": "10",
        "treated_by": "Ada Beekeeper",
    } | fields
    return [("hive_ids", str(hive)) for hive in hive_ids] + list(given.items())


async def treat(client, hive_ids, purchase_id, key: str | None = None, **fields: str):
    return await post_form(
        client,
        "/treatments",
        "/treatments/new",
        treatment_fields(hive_ids, purchase_id, **fields),
        key,
    )


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def harvest(client, hive_id: int, day: str):
    fields = [
        ("hive_ids", str(hive_id)),
        ("harvested_on", day),
        ("split", "even"),
        ("total_kg", "5"),
    ]
    return await post_form(client, "/harvests", "/harvests/new", fields)


# --- Purchases and stock ----------------------------------------------------------------------


async def test_a_purchase_keeps_every_field_and_its_substance_from_the_list(logged_in, db):
    purchase_id = await buy(logged_in, vet="Dr. Vogel, Hauptstraße 1, Berlin", quantity="2,5")
    stored = await db.get(MedicinePurchase, purchase_id)
    assert (stored.product, stored.active_substance, stored.batch) == (
        "Oxybee", "oxalic acid", "OX-114",
    )  # fmt: skip
    assert (stored.quantity, stored.unit) == (Decimal("2.50"), "ml")
    assert (stored.supplier_name, stored.supplier_address, stored.invoice_number, stored.vet) == (
        "Imkerei Bedarf Schmidt", "Lindenstraße 4, 10969 Berlin", "R-2026-0815",
        "Dr. Vogel, Hauptstraße 1, Berlin",
    )  # fmt: skip
    assert stored.purchased_on == TODAY - timedelta(days=60)
    page = await (await logged_in.get(f"/medicines/{purchase_id}")).text()
    assert "In stock: 2.5 ml" in page


async def test_a_purchase_with_wrong_fields_is_refused_beside_each_and_saves_nothing(logged_in, db):
    response = await post_form(
        logged_in,
        "/medicines",
        "/medicines/new",
        PURCHASE | {"product": "Home brew", "batch": "", "expires_on": ago(61), "quantity": "-1"},
    )
    assert response.status == 422
    page = await response.text()
    assert 'id="batch-error">This field is required.' in page
    assert 'id="quantity-error">Enter a number above 0.' in page
    assert 'value="Home brew"' in page  # what was typed is kept
    assert await count(db, MedicinePurchase) == 0


async def test_an_expiry_before_the_purchase_or_an_unknown_substance_is_refused(logged_in, db):
    unknown = await post_form(
        logged_in, "/medicines", "/medicines/new", PURCHASE | {"product": "Home brew"}
    )
    assert unknown.status == 422
    message = "Name the active substance of a product not listed"
    assert f'id="active_substance-error">{message}' in await unknown.text()
    response = await post_form(
        logged_in, "/medicines", "/medicines/new", PURCHASE | {"expires_on": ago(61)}
    )
    assert response.status == 422
    assert (
        'id="expires_on-error">This batch had expired when it was bought' in await response.text()
    )


async def test_stock_follows_purchases_treatments_and_disposals(logged_in, db):
    hive = await new_hive_id(logged_in, name="North")
    purchase_id = await buy(logged_in)
    assert (await treat(logged_in, [hive], purchase_id, quantity="30")).status == 303
    disposal = await post_form(
        logged_in,
        f"/medicines/{purchase_id}/disposals",
        f"/medicines/{purchase_id}",
        {"disposed_on": ago(1), "quantity": "20", "how": "returned to the pharmacy"},
    )
    assert disposal.status == 303, await disposal.text()
    page = await (await logged_in.get(f"/medicines/{purchase_id}")).text()
    assert "In stock: 50 ml" in page
    assert "returned to the pharmacy" in page
    listed = await (await logged_in.get("/medicines")).text()
    assert "50 of 100 ml" in listed

    too_much = await treat(logged_in, [hive], purchase_id, quantity="50.01")
    assert too_much.status == 422
    assert 'id="quantity-error">Only 50 ml of this batch are in stock.' in await too_much.text()
    over_disposal = await post_form(
        logged_in,
        f"/medicines/{purchase_id}/disposals",
        f"/medicines/{purchase_id}",
        {"disposed_on": ago(1), "quantity": "60"},
    )
    assert over_disposal.status == 422
    assert "Only 50 ml of this batch are in stock." in await over_disposal.text()
    assert (await count(db, Treatment), await count(db, MedicineDisposal)) == (1, 1)
    # All that is left may be used: the stock reaches zero, and the batch leaves the choice.
    assert (await treat(logged_in, [hive], purchase_id, quantity="50")).status == 303
    form = await (await logged_in.get("/treatments/new")).text()
    assert "OX-114" not in form
    assert "No medicine in stock." in form
    # No select left to label: the field's name is plain text, not a label for nothing.
    assert '<label for="purchase_id">' not in form
    assert '<p id="purchase_id"><strong>Medicine and batch</strong></p>' in form


async def test_concurrent_treatments_cannot_take_more_than_the_batch_holds(logged_in, db):
    hive = await new_hive_id(logged_in)
    purchase_id = await buy(logged_in, quantity="50")
    token = await csrf_token(logged_in, "/treatments/new")
    fields = [("_csrf", token), *treatment_fields([hive], purchase_id, quantity="30")]
    answers = await asyncio.gather(
        *[logged_in.post("/treatments", data=fields, allow_redirects=False) for _ in range(3)]
    )
    assert sorted(answer.status for answer in answers) == [303, 422, 422]
    assert await count(db, Treatment) == 1


# --- Treatments ---------------------------------------------------------------------------------


async def test_a_treatment_of_two_hives_is_one_record_with_its_dates(logged_in, db):
    north = await new_hive_id(logged_in, name="North")
    south = await new_hive_id(logged_in, name="South")
    purchase_id = await buy(logged_in)
    response = await treat(logged_in, [north, south], purchase_id, notes="after the wash")
    assert response.status == 303, await response.text()
    treatment = await db.scalar(select(Treatment))
    assert (treatment.started_on, treatment.ends_on, treatment.harvest_allowed_on) == (
        TODAY - timedelta(days=30), TODAY - timedelta(days=28), TODAY - timedelta(days=17),
    )  # fmt: skip
    assert (treatment.dose, treatment.quantity, treatment.withdrawal_days) == (
        "5 ml per seam", Decimal("30.00"), 10,
    )  # fmt: skip
    names = (
        await db.execute(select(TreatedHive.hive_name).order_by(TreatedHive.hive_name))
    ).scalars()
    assert list(names) == ["North", "South"]
    page = await (await logged_in.get(response.headers["Location"])).text()
    for shown_text in ("Oxybee", "North", "South"):
        assert shown_text in page
    hive_page = await (await logged_in.get(f"/hives/{north}")).text()
    assert f'href="/treatments/{treatment.id}"' in hive_page
    assert f'href="/treatments/new?hive={north}"' in hive_page


async def test_treatment_refusals_name_the_field_and_save_nothing(logged_in, db):
    hive = await new_hive_id(logged_in)
    purchase_id = await buy(logged_in, expires_on=ago(10))
    cases = {
        "started_on": (
            {"started_on": ago(61)},
            f"This batch was bought on {shown(TODAY - timedelta(days=60))}",
        ),
        "purchase_id": ({"started_on": ago(5)}, "This batch expired on"),
        "withdrawal_days": ({"withdrawal_days": "-1"}, "Enter 0 or more."),
    }
    for name, (fields, message) in cases.items():
        response = await treat(logged_in, [hive], purchase_id, **fields)
        assert response.status == 422, name
        page = await response.text()
        assert f'id="{name}-error">' in page, name
        assert message in page.split(f'id="{name}-error">')[1].split("</p>")[0], name
    blank = await treat(logged_in, [hive], purchase_id, withdrawal_days="")
    assert 'id="withdrawal_days-error">This field is required.' in await blank.text()
    assert await count(db, Treatment) == 0


async def test_a_hive_or_batch_of_another_beekeeper_does_not_exist(logged_in, client, db):
    hive = await new_hive_id(logged_in)
    purchase_id = await buy(logged_in)
    response = await treat(logged_in, [hive + 1000], purchase_id)
    assert response.status == 404
    response = await treat(logged_in, [hive], purchase_id + 1000)
    assert response.status == 404
    assert await count(db, Treatment) == 0


async def test_a_double_submit_is_one_treatment_and_takes_the_stock_once(logged_in, db):
    hive = await new_hive_id(logged_in)
    purchase_id = await buy(logged_in)
    first = await treat(logged_in, [hive], purchase_id, key="treat-key-0001")
    again = await treat(logged_in, [hive], purchase_id, key="treat-key-0001")
    assert (first.status, again.status) == (303, 303)
    assert first.headers["Location"] == again.headers["Location"]
    assert await count(db, Treatment) == 1
    assert "In stock: 70 ml" in await (await logged_in.get(f"/medicines/{purchase_id}")).text()


async def test_a_purchase_sent_twice_is_one_purchase(logged_in, db):
    first = await buy(logged_in, key="buy-key-00001")
    again = await buy(logged_in, key="buy-key-00001")
    assert first == again
    assert await count(db, MedicinePurchase) == 1


async def test_treatments_outlive_their_hive_in_the_register(logged_in, db):
    hive = await new_hive_id(logged_in, name="Gone")
    purchase_id = await buy(logged_in)
    await treat(logged_in, [hive], purchase_id)
    deleted = await post_form(logged_in, f"/hives/{hive}/delete", f"/hives/{hive}/delete", {})
    assert deleted.status == 303
    treated = await db.scalar(select(TreatedHive))
    assert (treated.hive_id, treated.hive_name) == (None, "Gone")
    register = await (await logged_in.get(f"/treatments?from={ago(365)}&to={TODAY}")).text()
    assert "Gone" in register


# --- Strips and Today ---------------------------------------------------------------------------


async def test_strips_due_out_show_on_today_until_they_are_taken_out(logged_in, db):
    hive = await new_hive_id(logged_in, name="Roof")
    purchase_id = await buy(logged_in, product="Apivar", unit="strips", quantity="10")
    response = await treat(
        logged_in, [hive], purchase_id, method="strips", quantity="2", started_on=ago(5),
        duration_days="3", withdrawal_days="0",
    )  # fmt: skip
    treatment_id = int(response.headers["Location"].rsplit("/", 1)[1])
    today = await (await logged_in.get("/")).text()
    assert "Treatment strips due out" in today
    assert f'id="strips-{treatment_id}"' in today

    refused = await harvest(logged_in, hive, TODAY.isoformat())
    assert refused.status == 422
    tomorrow = shown(TODAY + timedelta(days=1))
    assert (
        "Roof still has Apivar strips in: take them out first. "
        f"Honey may be taken from it from {tomorrow} at the earliest." in await refused.text()
    )

    out = await post_form(
        logged_in, f"/treatments/{treatment_id}/strips-removed", "/",
        {"removed_on": TODAY.isoformat(), "next": "/"},
    )  # fmt: skip
    assert (out.status, out.headers["Location"]) == (303, "/")
    assert "Treatment strips due out" not in await (await logged_in.get("/")).text()
    treatment = await db.get(Treatment, treatment_id)
    await db.refresh(treatment)
    assert treatment.harvest_allowed_on == TODAY + timedelta(days=1)
    again = await post_form(
        logged_in, f"/treatments/{treatment_id}/strips-removed", f"/treatments/{treatment_id}",
        {"removed_on": TODAY.isoformat()},
    )  # fmt: skip
    assert again.status == 422
    assert f"These strips were taken out on {shown(TODAY)}." in await again.text()


async def test_only_strips_are_taken_out_and_not_before_they_went_in(logged_in, db):
    hive = await new_hive_id(logged_in)
    purchase_id = await buy(logged_in)
    trickled = await treat(logged_in, [hive], purchase_id)
    trickled_id = int(trickled.headers["Location"].rsplit("/", 1)[1])
    response = await post_form(
        logged_in, f"/treatments/{trickled_id}/strips-removed", f"/treatments/{trickled_id}",
        {"removed_on": TODAY.isoformat()},
    )  # fmt: skip
    assert response.status == 422
    assert "This treatment was not given as strips." in await response.text()
    strips = await treat(logged_in, [hive], purchase_id, method="strips", started_on=ago(3))
    strips_id = int(strips.headers["Location"].rsplit("/", 1)[1])
    early = await post_form(
        logged_in, f"/treatments/{strips_id}/strips-removed", f"/treatments/{strips_id}",
        {"removed_on": ago(4)},
    )  # fmt: skip
    assert early.status == 422
    assert f"The strips went in on {shown(TODAY - timedelta(days=3))}." in await early.text()
    treatment = await db.get(Treatment, strips_id)
    assert treatment.strips_removed_on is None


# --- The withdrawal guard -----------------------------------------------------------------------


async def test_the_guard_refuses_from_the_first_day_to_the_last_of_the_withdrawal(logged_in, db):
    hive = await new_hive_id(logged_in, name="North")
    purchase_id = await buy(logged_in)
    await treat(logged_in, [hive], purchase_id)  # 30 days ago, 3 days, then 10 days' withdrawal
    allowed = shown(TODAY - timedelta(days=17))
    for day in (ago(30), ago(28), ago(18)):  # first day, last day of treatment, of withdrawal
        refused = await harvest(logged_in, hive, day)
        assert refused.status == 422, day
        page = await refused.text()
        assert 'id="harvested_on-error">' in page
        assert (
            "North is inside the withdrawal period of Oxybee: "
            f"honey may be taken from it from {allowed}." in page
        )
    assert await count(db, Harvest) == 0
    for day in (ago(31), ago(17), TODAY.isoformat()):  # the day before, the first allowed day
        assert (await harvest(logged_in, hive, day)).status == 303, day
    assert await count(db, Harvest) == 3


async def test_the_guard_counts_the_days_in_the_citys_time_zone(aiohttp_client, settings, user):
    """The city's today is not the server's: the harvest form offers the city's day, refused on
    the last day of a withdrawal and allowed on the first day after it."""
    far_ahead = datetime.now(UTC).hour >= 10  # one of these zones is on another day than UTC
    zone = "Pacific/Kiritimati" if far_ahead else "Pacific/Pago_Pago"  # UTC+14 or UTC-11
    client = await aiohttp_client(create_app(settings.model_copy(update={"time_zone": zone})))
    await log_in(client, user.email)
    city_today = datetime.now(ZoneInfo(zone)).date()
    assert city_today != datetime.now(UTC).date()
    last_day = await new_hive_id(client, name="North")
    first_allowed = await new_hive_id(client, name="South")
    purchase_id = await buy(client)

    def before(days: int) -> str:
        return (city_today - timedelta(days=days)).isoformat()

    # North: 3 days, 10 days' withdrawal, honey from tomorrow; South: honey from today.
    await treat(client, [last_day], purchase_id, started_on=before(12), duration_days="3")
    await treat(client, [first_allowed], purchase_id, started_on=before(11), duration_days="1")
    form = await (await client.get("/harvests/new")).text()
    assert f'value="{city_today.isoformat()}"' in form
    refused = await harvest(client, last_day, city_today.isoformat())
    assert refused.status == 422
    tomorrow = shown(city_today + timedelta(days=1))
    assert f"honey may be taken from it from {tomorrow}." in await refused.text()
    assert (await harvest(client, first_allowed, city_today.isoformat())).status == 303


async def test_the_guard_speaks_german_on_the_form(logged_in, db):
    hive = await new_hive_id(logged_in, name="Nord")
    purchase_id = await buy(logged_in)
    await treat(
        logged_in, [hive], purchase_id, started_on=ago(2), withdrawal_days="0", duration_days="5"
    )
    logged_in.session.cookie_jar.update_cookies({i18n.COOKIE: "de"})
    refused = await harvest(logged_in, hive, TODAY.isoformat())
    assert refused.status == 422
    allowed = format_date(TODAY + timedelta(days=3), "long", locale="de")
    assert (
        f"Nord ist in der Wartezeit von Oxybee: Honig darf erst ab {allowed} geerntet werden."
        in await refused.text()
    )


async def test_the_api_refuses_a_harvest_inside_the_withdrawal_with_the_date(logged_in, db):
    hive = await new_hive_id(logged_in, name="North")
    purchase_id = await buy(logged_in)
    await treat(logged_in, [hive], purchase_id)
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}"}
    body = {"harvested_on": ago(20), "split": "even", "hive_ids": [hive], "total_kg": 3}
    refused = await logged_in.post("/api/v1/harvests", json=body, headers=headers)
    assert refused.status == 422
    assert refused.content_type == "application/problem+json"
    problem = await refused.json()
    allowed = (TODAY - timedelta(days=17)).isoformat()
    assert problem["errors"][0]["type"] == "withdrawal_period"
    assert problem["errors"][0]["allowed_on"] == allowed
    assert problem["errors"][0]["location"] == ["body", "harvested_on"]
    assert allowed in problem["detail"]
    assert await count(db, Harvest) == 0
    allowed_body = body | {"harvested_on": allowed}
    assert (
        await logged_in.post("/api/v1/harvests", json=allowed_body, headers=headers)
    ).status == 201


async def test_a_honey_lot_shows_the_treatments_of_its_hives(logged_in, db):
    hive = await new_hive_id(logged_in, name="North")
    purchase_id = await buy(logged_in)
    await treat(logged_in, [hive], purchase_id)
    response = await harvest(logged_in, hive, TODAY.isoformat())
    page = await (await logged_in.get(response.headers["Location"])).text()
    assert "Treatments of these hives" in page
    assert "North: Oxybee (oxalic acid), batch OX-114" in page


async def test_the_checklist_links_to_a_treatment_instead_of_free_text(logged_in):
    hive = await new_hive_id(logged_in)
    page = await (await logged_in.get(f"/hives/{hive}/inspections/new")).text()
    assert f'href="/treatments/new?hive={hive}"' in page
    assert 'name="treatment_product"' not in page


# --- The register and the API -------------------------------------------------------------------


async def test_the_register_csv_holds_every_field_as_stored(logged_in, db):
    north = await new_hive_id(logged_in, name="North")
    south = await new_hive_id(logged_in, name="=South")  # a formula is written as text
    purchase_id = await buy(logged_in, vet="Dr. Vogel")
    await treat(logged_in, [north, south], purchase_id)
    response = await logged_in.get("/exports/treatments.csv")
    assert response.status == 200
    rows = list(csv.DictReader(io.StringIO((await response.text()).removeprefix("\ufeff"))))
    assert list(rows[0]) == REGISTER_COLUMNS
    assert [row["hive_name"] for row in rows] == ["North", "'=South"]
    treatment = await db.scalar(select(Treatment))
    purchase = await db.get(MedicinePurchase, purchase_id)
    row = rows[0]
    assert row == {
        "treatment_id": str(treatment.id), "started_on": ago(30), "ends_on": ago(28),
        "hive_id": str(north), "hive_name": "North", "product": "Oxybee",
        "active_substance": "oxalic acid", "batch": "OX-114",
        "expires_on": purchase.expires_on.isoformat(), "dose": "5 ml per seam",
        "quantity": "30.00", "unit": "ml", "method": "trickling", "duration_days": "3",
        "strips_removed_on": "", "withdrawal_days": "10", "harvest_allowed_on": ago(17),
        "treated_by": "Ada Beekeeper", "supplier_name": "Imkerei Bedarf Schmidt",
        "supplier_address": "Lindenstraße 4, 10969 Berlin", "purchased_on": ago(60),
        "invoice_number": "R-2026-0815", "vet": "Dr. Vogel", "notes": "",
    }  # fmt: skip


async def test_the_register_page_lists_the_period_by_date(logged_in):
    hive = await new_hive_id(logged_in, name="North")
    purchase_id = await buy(logged_in)
    await treat(logged_in, [hive], purchase_id, started_on=ago(20), quantity="5")
    await treat(logged_in, [hive], purchase_id, started_on=ago(40), quantity="5")
    page = await (await logged_in.get(f"/treatments?from={ago(50)}&to={TODAY}")).text()
    table = page.split('id="register"')[1].split("</table>")[0]
    first, second = (TODAY - timedelta(days=40)), (TODAY - timedelta(days=20))
    assert table.index(shown(first)) < table.index(shown(second))
    assert "Invoice R-2026-0815" in table
    assert "Imkerei Bedarf Schmidt" in table
    elsewhere = await new_hive_id(logged_in, name="Allotment hive", site="Allotment")
    await treat(logged_in, [elsewhere], purchase_id, started_on=ago(10), quantity="5")
    per_site = await (await logged_in.get(f"/treatments?from={ago(50)}&site=Allotment")).text()
    site_table = per_site.split('id="register"')[1].split("</table>")[0]
    assert "Allotment hive" in site_table
    assert "North" not in site_table
    narrow = await (await logged_in.get(f"/treatments?from={ago(30)}&to=not-a-date")).text()
    narrow_table = narrow.split('id="register"')[1].split("</table>")[0]
    assert shown(first) not in narrow_table


async def csv_rows(client, path: str) -> list[dict[str, str]]:
    response = await client.get(path)
    assert response.status == 200
    return list(csv.DictReader(io.StringIO((await response.text()).removeprefix("\ufeff"))))


async def test_the_register_csv_is_the_period_the_register_page_shows(logged_in):
    north = await new_hive_id(logged_in, name="North")
    allotment = await new_hive_id(logged_in, name="Allotment hive", site="Allotment")
    purchase_id = await buy(logged_in)
    await treat(logged_in, [north], purchase_id, started_on=ago(55), quantity="5")
    await treat(logged_in, [north, allotment], purchase_id, started_on=ago(40), quantity="5")
    await treat(logged_in, [north], purchase_id, started_on=ago(20), quantity="5")

    page = await (await logged_in.get(f"/treatments?from={ago(50)}&to={ago(30)}")).text()
    link = f"/exports/treatments.csv?from={ago(50)}&amp;to={ago(30)}"
    assert f'href="{link}" download' in page
    rows = await csv_rows(logged_in, link.replace("&amp;", "&"))
    assert [(row["started_on"], row["hive_name"]) for row in rows] == [
        (ago(40), "North"), (ago(40), "Allotment hive"),
    ]  # fmt: skip
    per_site = await (await logged_in.get(f"/treatments?from={ago(50)}&site=Allotment")).text()
    site_link = (
        f"/exports/treatments.csv?from={ago(50)}&amp;to={TODAY.year}-12-31&amp;site=Allotment"
    )
    assert f'href="{site_link}"' in per_site
    rows = await csv_rows(logged_in, site_link.replace("&amp;", "&"))
    assert {row["started_on"] for row in rows} == {ago(40)}
    everything = await csv_rows(logged_in, "/exports/treatments.csv")
    assert [row["started_on"] for row in everything] == [ago(55), ago(40), ago(40), ago(20)]
    unreadable = await csv_rows(logged_in, f"/exports/treatments.csv?from={ago(30)}&to=soon")
    assert [row["started_on"] for row in unreadable] == [ago(20)]


async def test_the_api_records_purchases_and_treatments(logged_in, db):
    hive = await new_hive_id(logged_in, name="North")
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}"}
    purchase = {
        "product": "Apiguard", "batch": "AG-7",
        "expires_on": (TODAY + timedelta(days=300)).isoformat(),
        "supplier_name": "Bee Shop", "supplier_address": "1 High Street, York",
        "purchased_on": ago(10), "quantity": 500, "unit": "g", "invoice_number": "INV-9",
    }  # fmt: skip
    bought = await logged_in.post("/api/v1/purchases", json=purchase, headers=headers)
    assert bought.status == 201, await bought.text()
    purchase_out = await bought.json()
    assert (purchase_out["active_substance"], purchase_out["stock"]) == ("thymol", "500.00")
    body = {
        "hive_ids": [hive], "purchase_id": purchase_out["id"], "started_on": ago(5),
        "dose": "one tray", "quantity": 50, "method": "evaporator", "duration_days": 14,
        "withdrawal_days": 0, "treated_by": "Ada",
    }  # fmt: skip
    headers_once = headers | {"Idempotency-Key": "api-treat-0001"}
    answers = await asyncio.gather(
        *[logged_in.post("/api/v1/treatments", json=body, headers=headers_once) for _ in range(4)]
    )
    assert {answer.status for answer in answers} == {201}
    treatment = await answers[0].json()
    assert len({(await answer.json())["id"] for answer in answers}) == 1
    assert treatment["hives"] == [{"hive_id": hive, "hive_name": "North"}]
    assert (treatment["ends_on"], treatment["harvest_allowed_on"]) == (
        (TODAY + timedelta(days=8)).isoformat(), (TODAY + timedelta(days=9)).isoformat(),
    )  # fmt: skip
    assert await count(db, Treatment) == 1
    listed = await (
        await logged_in.get(f"/api/v1/treatments?hive_id={hive}", headers=headers)
    ).json()
    assert [item["id"] for item in listed["items"]] == [treatment["id"]]
    one = await logged_in.get(f"/api/v1/purchases/{purchase_out['id']}", headers=headers)
    assert (await one.json())["stock"] == "450.00"

    too_much = await logged_in.post(
        "/api/v1/treatments", json=body | {"quantity": 451}, headers=headers
    )
    assert too_much.status == 422
    problem = await too_much.json()
    assert problem["errors"] == [
        {
            "location": ["body", "quantity"],
            "message": "Only 450.00 g of this batch are in stock.",
            "type": "refused",
        }
    ]
    negative = await logged_in.post(
        "/api/v1/treatments", json=body | {"withdrawal_days": -1}, headers=headers
    )
    assert negative.status == 422
    assert (await negative.json())["errors"][0]["location"] == ["body", "withdrawal_days"]
    assert await count(db, Treatment) == 1
    for path in (f"/api/v1/treatments?hive_id={hive + 1000}", "/api/v1/treatments?hive_id=0"):
        missing = await logged_in.get(path, headers=headers)
        assert (missing.status, missing.content_type) == (404, "application/problem+json")
    for path in (f"/api/v1/purchases/{purchase_out['id'] + 1}", "/api/v1/treatments/999999"):
        assert (await logged_in.get(path, headers=headers)).status == 404
    listed = await (await logged_in.get("/api/v1/purchases", headers=headers)).json()
    assert [item["batch"] for item in listed["items"]] == ["AG-7"]
    one = await logged_in.get(f"/api/v1/treatments/{treatment['id']}", headers=headers)
    assert await one.json() == treatment


async def test_the_api_lists_the_authorised_medicines_the_purchase_form_offers(logged_in):
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}"}
    response = await logged_in.get("/api/v1/medicines", headers=headers)
    assert response.status == 200
    listed = await response.json()
    assert {"product": "Oxybee", "active_substance": "oxalic acid"} in listed["items"]
    assert {"product": "Apivar", "active_substance": "amitraz"} in listed["items"]
    assert listed["active_substances"] == [
        "oxalic acid", "formic acid", "lactic acid", "thymol", "amitraz", "flumethrin",
        "tau-fluvalinate", "coumaphos",
    ]  # fmt: skip
    form = await (await logged_in.get("/medicines/new")).text()
    for item in listed["items"]:
        offered = escape(item["product"]).replace("&#x27;", "&#39;")
        assert f'<option value="{offered}">{item["active_substance"]}</option>' in form


async def dispose(client, purchase_id: int, body, headers):
    path = f"/api/v1/purchases/{purchase_id}/disposals"
    return await client.post(path, json=body, headers=headers)


async def test_the_api_records_disposals_exactly_once_and_refuses_as_the_form_does(logged_in, db):
    purchase_id = await buy(logged_in)  # 100 ml, 60 days ago
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}"}
    body = {"disposed_on": ago(1), "quantity": 40, "how": "Pharmacy take-back"}
    once = headers | {"Idempotency-Key": "api-dispose-0001"}
    answers = await asyncio.gather(*[dispose(logged_in, purchase_id, body, once) for _ in range(4)])
    assert {answer.status for answer in answers} == {201}
    disposal = await answers[0].json()
    assert len({(await answer.json())["id"] for answer in answers}) == 1
    location = f"/api/v1/purchases/{purchase_id}/disposals/{disposal['id']}"
    assert answers[0].headers["Location"] == location
    assert disposal == {
        "id": disposal["id"], "purchase_id": purchase_id, "disposed_on": ago(1),
        "quantity": "40.00", "how": "Pharmacy take-back",
    }  # fmt: skip
    assert await count(db, MedicineDisposal) == 1
    assert await (await logged_in.get(location, headers=headers)).json() == disposal
    listed = await logged_in.get(f"/api/v1/purchases/{purchase_id}/disposals", headers=headers)
    assert (await listed.json())["items"] == [disposal]
    stock = await logged_in.get(f"/api/v1/purchases/{purchase_id}", headers=headers)
    assert (await stock.json())["stock"] == "60.00"

    too_much = await dispose(logged_in, purchase_id, body | {"quantity": 61}, headers)
    early = await dispose(logged_in, purchase_id, body | {"disposed_on": ago(61)}, headers)
    negative = await dispose(logged_in, purchase_id, body | {"quantity": -1}, headers)
    assert (too_much.status, early.status, negative.status) == (422, 422, 422)
    assert too_much.content_type == "application/problem+json"
    assert (await too_much.json())["errors"] == [
        {
            "location": ["body", "quantity"],
            "message": "Only 60.00 ml of this batch are in stock.",
            "type": "refused",
        }
    ]
    assert (await early.json())["errors"] == [
        {
            "location": ["body", "disposed_on"],
            "message": f"This batch was bought on {ago(60)}.",
            "type": "refused",
        }
    ]
    assert (await negative.json())["errors"][0]["location"] == ["body", "quantity"]
    assert await count(db, MedicineDisposal) == 1

    other = await make_user(db, email="other@example.org")
    await log_in(logged_in, other.email)  # the same browser, now another beekeeper's
    theirs = {"Authorization": f"Bearer {await api_key(logged_in)}"}
    for path in (f"/api/v1/purchases/{purchase_id}/disposals", location):
        missing = await logged_in.get(path, headers=theirs)
        assert (missing.status, missing.content_type) == (404, "application/problem+json")
    assert (await dispose(logged_in, purchase_id, body, theirs)).status == 404
    other_purchase = f"/api/v1/purchases/{purchase_id + 1000}/disposals/{disposal['id']}"
    assert (await logged_in.get(other_purchase, headers=headers)).status == 404
    assert await count(db, MedicineDisposal) == 1


async def test_the_api_register_is_the_register_pages_period_by_date(logged_in, db):
    north = await new_hive_id(logged_in, name="North")
    allotment = await new_hive_id(logged_in, name="Allotment hive", site="Allotment")
    purchase_id = await buy(logged_in, vet="Dr. Vogel")
    await treat(logged_in, [north], purchase_id, started_on=ago(20), quantity="5")
    await treat(logged_in, [north, allotment], purchase_id, started_on=ago(40), quantity="5")
    await treat(logged_in, [north], purchase_id, started_on=ago(55), quantity="5")
    await post_form(
        logged_in,
        f"/medicines/{purchase_id}/disposals",
        f"/medicines/{purchase_id}",
        {"disposed_on": ago(10), "quantity": "3", "how": "Expired"},
    )
    headers = {"Authorization": f"Bearer {await api_key(logged_in)}"}
    path = f"/api/v1/treatment-register?from={ago(50)}&to={TODAY}"
    response = await logged_in.get(path, headers=headers)
    assert response.status == 200
    register = await response.json()
    assert (register["from"], register["to"], register["site"]) == (
        ago(50),
        TODAY.isoformat(),
        None,
    )
    treatments = register["treatments"]
    assert [item["started_on"] for item in treatments] == [ago(40), ago(20)]
    first = treatments[0]
    assert first["hives"] == [
        {"hive_id": allotment, "hive_name": "Allotment hive"},
        {"hive_id": north, "hive_name": "North"},
    ]
    for legal in set(REGISTER_COLUMNS) - {"treatment_id", "hive_id", "hive_name"}:
        assert legal in first, legal
    assert (first["product"], first["batch"], first["supplier_name"], first["vet"]) == (
        "Oxybee", "OX-114", "Imkerei Bedarf Schmidt", "Dr. Vogel",
    )  # fmt: skip
    assert (first["invoice_number"], first["purchased_on"]) == ("R-2026-0815", ago(60))
    assert register["purchases"] == []  # bought 60 days ago, before the period
    assert [
        (item["disposed_on"], item["quantity"], item["product"], item["unit"])
        for item in register["disposals"]
    ] == [(ago(10), "3.00", "Oxybee", "ml")]

    wider = await (
        await logged_in.get(f"/api/v1/treatment-register?from={ago(70)}", headers=headers)
    ).json()
    assert [item["batch"] for item in wider["purchases"]] == ["OX-114"]
    assert [item["started_on"] for item in wider["treatments"]] == [ago(55), ago(40), ago(20)]
    assert wider["to"] == date(TODAY.year, 12, 31).isoformat()
    per_site = await (
        await logged_in.get(
            f"/api/v1/treatment-register?from={ago(70)}&site=Allotment", headers=headers
        )
    ).json()
    assert [item["started_on"] for item in per_site["treatments"]] == [ago(40)]
    bad = await logged_in.get("/api/v1/treatment-register?from=yesterday", headers=headers)
    assert (bad.status, bad.content_type) == (422, "application/problem+json")
    assert (await bad.json())["errors"][0]["location"] == ["query", "from"]
    unknown = await logged_in.get("/api/v1/treatment-register?site=Moon", headers=headers)
    assert unknown.status == 404
    plain = await (await logged_in.get("/api/v1/treatment-register", headers=headers)).json()
    assert (plain["from"], plain["to"]) == (
        date(TODAY.year, 1, 1).isoformat(), date(TODAY.year, 12, 31).isoformat(),
    )  # fmt: skip


def test_the_openapi_document_describes_the_medicines_api():
    from app.pages.openapi import openapi_document

    document = openapi_document()
    paths = document["paths"]
    for path in (
        "/api/v1/purchases",
        "/api/v1/treatments",
        "/api/v1/purchases/{id}/disposals",
    ):
        assert {"get", "post"} <= set(paths[path])
    disposals = paths["/api/v1/purchases/{id}/disposals"]["post"]
    assert disposals["parameters"][0]["name"] == "Idempotency-Key"
    assert "refused" in disposals["responses"]["422"]["description"]
    register = paths["/api/v1/treatment-register"]["get"]
    assert [p["name"] for p in register["parameters"]] == ["from", "to", "site"]
    assert "from" in document["components"]["schemas"]["RegisterOut"]["properties"]
    assert paths["/api/v1/medicines"]["get"]["responses"]["200"]["content"]
    assert (
        "withdrawal_period"
        in document["paths"]["/api/v1/harvests"]["post"]["responses"]["422"]["description"]
    )
    assert "TreatmentIn" in document["components"]["schemas"]


async def inspect(client, hive_id: int, day: str, **fields: str) -> None:
    path = f"/hives/{hive_id}/inspections"
    response = await post_form(
        client, path, f"{path}/new", {"done_at": f"{day}T10:00", "next_inspection_on": ""} | fields
    )
    assert response.status == 303, await response.text()


async def test_a_treatment_shows_the_mites_before_and_after_and_flags_a_super(logged_in):
    hive = await new_hive_id(logged_in, name="North")
    purchase_id = await buy(logged_in)
    await inspect(logged_in, hive, ago(40), varroa_count="18", varroa_method="alcohol_wash")
    await inspect(logged_in, hive, ago(35), varroa_count="21", varroa_method="alcohol_wash")
    response = await treat(logged_in, [hive], purchase_id)  # 30 to 28 days ago, honey at 17
    page = await (await logged_in.get(response.headers["Location"])).text()
    effect = page.split('id="effect"')[1].split("</table>")[0]
    assert f'21 mites <span class="hint">({shown(TODAY - timedelta(days=35))})' in effect
    assert "Not counted" in effect
    assert "Count the mites again after the treatment" in page

    await inspect(logged_in, hive, ago(25), actions="super_added")
    await inspect(logged_in, hive, ago(20), varroa_count="2", varroa_method="alcohol_wash")
    await inspect(logged_in, hive, ago(10), actions="super_added")  # honey allowed by then
    page = await (await logged_in.get(response.headers["Location"])).text()
    effect = page.split('id="effect"')[1].split("</table>")[0]
    assert f'2 mites <span class="hint">({shown(TODAY - timedelta(days=20))})' in effect
    assert "Count the mites again" not in page
    flagged = "A super was put on North on {}, before honey was allowed again."
    assert flagged.format(shown(TODAY - timedelta(days=25))) in page
    assert flagged.format(shown(TODAY - timedelta(days=10))) not in page


async def test_today_asks_for_a_mite_count_a_week_after_a_treatment_until_one_is_made(logged_in):
    north = await new_hive_id(logged_in, name="North")
    south = await new_hive_id(logged_in, name="South")
    west = await new_hive_id(logged_in, name="West")
    purchase_id = await buy(logged_in, purchased_on=ago(120))
    # North: ended 8 days ago. South: ended 3 days ago, too soon. West: ended 50 days ago,
    # too long ago; and North's earlier treatment is not asked about apart.
    for hive, started in ((north, 60), (north, 10), (south, 5), (west, 52)):
        given = await treat(logged_in, [hive], purchase_id, started_on=ago(started), quantity="5")
        assert given.status == 303, await given.text()
    today = await (await logged_in.get("/")).text()
    counts = today.split('id="mite-counts"')[1].split("</section>")[0]
    assert "Count the mites after a treatment" in today
    assert f'id="count-{north}"' in counts
    assert f"Oxybee, ended {shown(TODAY - timedelta(days=8))}" in counts
    assert f'href="/hives/{north}/inspections/new"' in counts
    for other in (south, west):
        assert f'id="count-{other}"' not in counts
    # an inspection without a count does not answer it; one with a count does
    await inspect(logged_in, north, ago(1), frames_of_bees="8")
    assert f'id="count-{north}"' in await (await logged_in.get("/")).text()
    await inspect(logged_in, north, ago(0), varroa_count="3", varroa_method="alcohol_wash")
    assert 'id="mite-counts"' not in await (await logged_in.get("/")).text()


async def test_the_winter_oxalic_window_lists_the_hives_not_yet_treated(logged_in, db, user):
    north = await new_hive_id(logged_in, name="North")
    await new_hive_id(logged_in, name="South")
    last_winter = TODAY.year - 1
    purchase_id = await buy(
        logged_in, purchased_on=date(last_winter, 10, 1).isoformat(), product="Api-Bioxal"
    )
    autumn = await treat(
        logged_in, [north], purchase_id, started_on=date(last_winter, 11, 20).isoformat()
    )
    assert autumn.status == 303  # before the window: does not count for the winter
    in_window = date(last_winter + 1, 1, 15)
    names = [hive.name for hive in await queries.due_winter_oxalic(db, user.id, in_window)]
    assert names == ["North", "South"]
    await treat(logged_in, [north], purchase_id, started_on=date(last_winter, 12, 20).isoformat())
    names = [hive.name for hive in await queries.due_winter_oxalic(db, user.id, in_window)]
    assert names == ["South"]
    assert await queries.due_winter_oxalic(db, user.id, date(last_winter, 6, 1)) == []
    assert queries.winter_started(date(2027, 1, 31)) == date(2026, 12, 1)
    assert queries.winter_started(date(2027, 2, 1)) is None

    today = await (await logged_in.get("/")).text()
    if queries.winter_started(TODAY) is None:
        assert 'id="winter-oxalic"' not in today
    else:  # no oxalic acid given this winter yet: both hives are listed
        assert "Not yet treated this winter: North, South." in today


# --- Proof of purchase --------------------------------------------------------------------------

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)


async def send_proof(client, purchase_id: int, content: bytes, name: str, media_type: str):
    page = f"/medicines/{purchase_id}"
    form = aiohttp.FormData(quote_fields=False)  # a name as a browser sends it
    form.add_field("_csrf", await csrf_token(client, page))
    form.add_field("proof", io.BytesIO(content), filename=name, content_type=media_type)
    return await client.post(f"{page}/proof", data=form, allow_redirects=False)


async def test_a_photo_or_pdf_of_the_receipt_is_kept_with_its_purchase(logged_in, db):
    purchase_id = await buy(logged_in)
    page = f"/medicines/{purchase_id}"
    assert "No photo or PDF of the invoice yet." in await (await logged_in.get(page)).text()
    sent = await send_proof(logged_in, purchase_id, PDF, "C:\\fakepath\\Rechnung 0815.pdf", "x/y")
    assert (sent.status, sent.headers["Location"]) == (303, f"{page}#proof")
    shown_page = await (await logged_in.get(page)).text()
    assert (
        f'<a href="{page}/proof" target="_blank" rel="noopener">Rechnung 0815.pdf</a>' in shown_page
    )
    assert "PDF, 1 kB" in shown_page
    kept = await logged_in.get(f"{page}/proof")
    assert kept.status == 200
    assert await kept.read() == PDF
    assert kept.headers["Content-Type"] == "application/pdf"
    assert kept.headers["Content-Disposition"].startswith("inline;")
    assert "Rechnung%200815.pdf" in kept.headers["Content-Disposition"]
    assert kept.headers["X-Content-Type-Options"] == "nosniff"
    # another takes its place; then it is removed
    assert (await send_proof(logged_in, purchase_id, PNG, "receipt.png", "image/png")).status == 303
    again = await logged_in.get(f"{page}/proof")
    assert (again.headers["Content-Type"], await again.read()) == ("image/png", PNG)
    removed = await post_form(logged_in, f"{page}/proof/delete", page, {})
    assert removed.status == 303
    assert (await logged_in.get(f"{page}/proof")).status == 404
    assert await db.scalar(select(func.count()).select_from(PurchaseProof)) == 0


async def test_a_file_that_is_no_proof_is_refused_beside_the_field(aiohttp_client, settings, db):
    one_mb = 1024 * 1024
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"upload_max_bytes": one_mb}))
    )
    await make_user(db, email="ada@example.org")
    await log_in(client, "ada@example.org")
    purchase_id = await buy(client)
    assert (
        await send_proof(client, purchase_id, PDF, "receipt.pdf", "application/pdf")
    ).status == 303
    for content, name, message in (
        (b"<html><script>alert(1)</script>", "receipt.pdf", "is not a photo (JPEG, PNG or WebP)"),
        (b"", "", "Choose a photo or PDF of the invoice or receipt."),
        (PDF + bytes(one_mb), "big.pdf", "This file is larger than 1 MB."),
    ):
        refused = await send_proof(client, purchase_id, content, name, "application/pdf")
        assert refused.status == 422, name
        text = await refused.text()
        assert message in text
        assert 'id="proof-error"' in text
        assert 'aria-invalid="true"' in text
        kept = await client.get(f"/medicines/{purchase_id}/proof")
        assert await kept.read() == PDF  # the one before is still kept
    # a body beyond the file's limit and the form's room is not read at all
    beyond = await send_proof(client, purchase_id, PDF + bytes(one_mb + 100_000), "huge.pdf", "x")
    assert beyond.status == 413
    # someone else's purchase does not exist for them
    other = await aiohttp_client(create_app(settings))
    await make_user(db, email="bo@example.org")
    await log_in(other, "bo@example.org")
    assert (await other.get(f"/medicines/{purchase_id}/proof")).status == 404
    token = await csrf_token(other, "/medicines/new")
    form = aiohttp.FormData()
    form.add_field("_csrf", token)
    form.add_field("proof", PNG, filename="x.png", content_type="image/png")
    taken = await other.post(f"/medicines/{purchase_id}/proof", data=form, allow_redirects=False)
    assert taken.status == 404
    assert await (await client.get(f"/medicines/{purchase_id}/proof")).read() == PDF
