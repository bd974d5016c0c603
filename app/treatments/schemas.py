"""What the medicines records accept: a purchase, a disposal, a treatment.

The same schemas check the HTML forms and the JSON API. What only the stored records can tell
(the batch's stock, its expiry, its purchase date) is checked where the treatment is saved
(app/treatments/queries.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.models import TreatmentMethod
from app.web.forms import NO_NUL, Number, typed_by_a_person
from app.web.i18n import N_, _

# Authorised varroa medicines (EU and UK) and their active substance. A product not listed is
# typed as it reads on the pack, with its active substance.
PRODUCTS: dict[str, str] = {
    "Api-Bioxal": "oxalic acid",
    "Oxybee": "oxalic acid",
    "Dany's BienenWohl": "oxalic acid",
    "Oxuvar": "oxalic acid",
    "VarroMed": "formic acid, oxalic acid",
    "MAQS": "formic acid",
    "Formicpro": "formic acid",
    "Formivar": "formic acid",
    "Milchsäure 15%": "lactic acid",
    "Apiguard": "thymol",
    "Thymovar": "thymol",
    "ApiLife Var": "thymol",
    "Apivar": "amitraz",
    "Apitraz": "amitraz",
    "Bayvarol": "flumethrin",
    "PolyVar Yellow": "flumethrin",
    "Apistan": "tau-fluvalinate",
    "CheckMite+": "coumaphos",
}
ACTIVE_SUBSTANCES = (
    "oxalic acid",
    "formic acid",
    "lactic acid",
    "thymol",
    "amitraz",
    "flumethrin",
    "tau-fluvalinate",
    "coumaphos",
)
Unit = Literal["ml", "l", "g", "kg", "strips", "doses"]
UNIT_LABELS: dict[str, str] = {
    "ml": N_("ml"),
    "l": N_("litres"),
    "g": N_("g"),
    "kg": N_("kg"),
    "strips": N_("strips"),
    "doses": N_("doses"),
}
METHOD_LABELS = {
    TreatmentMethod.trickling: N_("Trickling"),
    TreatmentMethod.sublimation: N_("Sublimation"),
    TreatmentMethod.evaporator: N_("Evaporator"),
    TreatmentMethod.strips: N_("Strips"),
    TreatmentMethod.spraying: N_("Spraying"),
}
# How far ahead of the server's clock a date may be: a phone's clock and time zone.
CLOCK_SLACK = timedelta(days=1)
HiveId = Annotated[int, Field(gt=0, le=2**31 - 1)]
RecordId = Annotated[int, Field(gt=0, le=2**31 - 1)]


def _text(length: int, *, required: bool = False) -> StringConstraints:
    return StringConstraints(
        strip_whitespace=True, min_length=1 if required else 0, max_length=length, pattern=NO_NUL
    )


Name = Annotated[str, _text(100, required=True)]
OptionalName = Annotated[str, _text(100)]
Batch = Annotated[str, _text(50, required=True)]
Supplier = Annotated[str, _text(200, required=True)]
Address = Annotated[str, _text(500, required=True)]
ShortNote = Annotated[str, _text(200)]
Notes = Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)]


def _quantity(value: object, info: ValidationInfo) -> object:
    """An amount: typed by a person, with a decimal comma if need be; in JSON, a number."""
    if typed_by_a_person(info):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number_type", "Input should be a valid number")
    try:
        return Decimal(str(value))
    except InvalidOperation:  # pragma: no cover - a finite JSON number always reads
        raise PydanticCustomError("number_type", "Input should be a valid number") from None


# An amount of medicine, to the hundredth of its unit.
Quantity = Annotated[
    Decimal,
    Field(gt=0, le=99_999_999, decimal_places=2),
    BeforeValidator(_quantity),
    Number,
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 99_999_999}),
]


def _not_future(value: date, what: str) -> date:
    if value > date.today() + CLOCK_SLACK:
        raise ValueError(what)
    if value.year < 2000:
        raise ValueError(_("Give a date after 2000"))
    return value


class PurchaseForm(BaseModel):
    """A veterinary medicine bought or received: one batch of one product."""

    product: Name = Field(title=N_("Product"))
    active_substance: OptionalName = Field(default="", title=N_("Active substance"))
    batch: Batch = Field(title=N_("Batch number"))
    expires_on: date = Field(title=N_("Expiry date"))
    supplier_name: Supplier = Field(title=N_("Supplier"))
    supplier_address: Address = Field(title=N_("Supplier's address"))
    purchased_on: date = Field(title=N_("Date of purchase"))
    quantity: Quantity = Field(title=N_("Quantity"))
    unit: Unit = Field(title=N_("Unit"))
    invoice_number: Name = Field(title=N_("Invoice or receipt number"))
    vet: ShortNote = Field(default="", title=N_("Prescribing veterinarian"))

    @field_validator("purchased_on")
    @classmethod
    def _bought_already(cls, value: date) -> date:
        return _not_future(value, _("A purchase cannot be dated in the future"))

    @model_validator(mode="after")
    def _consistent(self) -> PurchaseForm:
        if not self.active_substance:
            self.active_substance = PRODUCTS.get(self.product, "")
        if not self.active_substance:
            raise ValueError(
                "active_substance: " + _("Name the active substance of a product not listed")
            )
        if self.expires_on < self.purchased_on:
            raise ValueError("expires_on: " + _("This batch had expired when it was bought"))
        return self


class DisposalForm(BaseModel):
    """Part of a batch thrown away."""

    disposed_on: date = Field(title=N_("Date"))
    quantity: Quantity = Field(title=N_("Quantity"))
    how: ShortNote = Field(default="", title=N_("How it was disposed of"))

    @field_validator("disposed_on")
    @classmethod
    def _done_already(cls, value: date) -> date:
        return _not_future(value, _("A disposal cannot be dated in the future"))


WholeDays = Annotated[int, Number]


class TreatmentForm(BaseModel):
    """One administration to one hive or a group of hives treated at once."""

    hive_ids: list[HiveId] = Field(min_length=1, max_length=500, title=N_("Hives"))
    purchase_id: Annotated[RecordId, Number] = Field(title=N_("Medicine and batch"))
    started_on: date = Field(title=N_("First administration"))
    dose: Name = Field(title=N_("Dose"))
    quantity: Quantity = Field(title=N_("Quantity used"))
    method: TreatmentMethod = Field(title=N_("Method"))
    duration_days: Annotated[WholeDays, Field(ge=1, le=366)] = Field(title=N_("Duration (days)"))
    withdrawal_days: Annotated[WholeDays, Field(ge=0, le=3650)] = Field(
        title=N_("Withdrawal period (days)"),
        description="Days after the treatment's end before honey may be taken; 0 is allowed.",
    )
    treated_by: Name = Field(title=N_("Treated by"))
    notes: Notes = Field(default="", title=N_("Notes"))

    @field_validator("started_on")
    @classmethod
    def _given_already(cls, value: date) -> date:
        return _not_future(value, _("A treatment cannot be recorded for a day in the future"))

    @model_validator(mode="after")
    def _each_hive_once(self) -> TreatmentForm:
        if len(set(self.hive_ids)) != len(self.hive_ids):
            raise ValueError("hive_ids: " + _("Each hive once"))
        return self

    @property
    def ends_on(self) -> date:
        return self.started_on + timedelta(days=self.duration_days - 1)


class StripsRemovedForm(BaseModel):
    removed_on: date = Field(title=N_("Strips taken out on"))

    @field_validator("removed_on")
    @classmethod
    def _done_already(cls, value: date) -> date:
        return _not_future(value, _("Strips cannot be taken out on a day in the future"))
