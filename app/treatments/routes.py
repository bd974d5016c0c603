from aiohttp import web

from app.treatments import api, views

routes = web.RouteTableDef()

# Medicines kept: the stock, a purchase, a batch's page and its disposals.
routes.get("/medicines", name="medicine_list")(views.medicine_list)
routes.post("/medicines")(views.purchase_create)
routes.get("/medicines/new", name="purchase_new")(views.purchase_new)
routes.get(r"/medicines/{id:\d+}", name="purchase_detail")(views.purchase_detail)
routes.post(r"/medicines/{id:\d+}/disposals", name="disposal_create")(views.disposal_create)
# Its proof of purchase: a photo or PDF of the receipt, sent, shown and taken away.
routes.post(r"/medicines/{id:\d+}/proof", name="proof_upload")(views.proof_upload)
routes.get(r"/medicines/{id:\d+}/proof", name="proof_file")(views.proof_file)
routes.post(r"/medicines/{id:\d+}/proof/delete", name="proof_delete")(views.proof_delete)

# Treatments: the register (a period's records, for print), record one, one treatment, strips out.
routes.get("/treatments", name="treatment_register")(views.register)
routes.post("/treatments")(views.treatment_create)
routes.get("/treatments/new", name="treatment_new")(views.treatment_new)
routes.get(r"/treatments/{id:\d+}", name="treatment_detail")(views.treatment_detail)
routes.post(r"/treatments/{id:\d+}/strips-removed", name="strips_removed")(views.strips_removed)

# The JSON API.
routes.get("/api/v1/purchases", name="api_purchases")(api.purchase_list)
routes.post("/api/v1/purchases")(api.purchase_create)
routes.get(r"/api/v1/purchases/{id:\d+}", name="api_purchase")(api.purchase_detail)
routes.get("/api/v1/treatments", name="api_treatments")(api.treatment_list)
routes.post("/api/v1/treatments")(api.treatment_create)
routes.get(r"/api/v1/treatments/{id:\d+}", name="api_treatment")(api.treatment_detail)
routes.get("/api/v1/medicines", name="api_medicines")(api.medicine_list)
routes.get(r"/api/v1/purchases/{id:\d+}/disposals", name="api_disposals")(api.disposal_list)
routes.post(r"/api/v1/purchases/{id:\d+}/disposals")(api.disposal_create)
routes.get(r"/api/v1/purchases/{id:\d+}/disposals/{disposal_id:\d+}", name="api_disposal")(
    api.disposal_detail
)
routes.get("/api/v1/treatment-register", name="api_treatment_register")(api.register)
