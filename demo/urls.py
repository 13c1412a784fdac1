from django.urls import path

from . import views

app_name = "demo"
urlpatterns = [
    path("", views.index, name="index"),
    path("orders/", views.create_order, name="create_order"),
    path("orders/<int:order_id>/decide/", views.decide, name="decide"),
]
