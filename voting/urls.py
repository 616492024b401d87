"""Screens of written opinion ballots, mounted at ``/ballots/`` by ``ecabinet.urls``."""

from django.urls import path

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)

from . import views

urlpatterns = [
    path("", views.ballot_list, name="ballot_list"),
    path("new/", views.ballot_create, name="ballot_create"),
    path("<id:pk>/", views.ballot_detail, name="ballot_detail"),
    path("<id:pk>/answers/", views.ballot_answer, name="ballot_answer"),
    path("<id:pk>/documents/<id:doc>/file/", views.ballot_document_file, name="ballot_document_file"),
    path("<id:pk>/summary/", views.ballot_summary, name="ballot_summary"),
    path("<id:pk>/summary.pdf", views.ballot_summary_pdf, name="ballot_summary_pdf"),
    path("<id:pk>/edit/", views.ballot_edit, name="ballot_edit"),
    path("<id:pk>/edit/details/", views.ballot_update, name="ballot_update"),
    path("<id:pk>/edit/questions/", views.ballot_question_add, name="ballot_question_add"),
    path("<id:pk>/edit/questions/<id:question>/remove/", views.ballot_question_remove,
         name="ballot_question_remove"),
    path("<id:pk>/edit/documents/", views.ballot_document_add, name="ballot_document_add"),
    path("<id:pk>/edit/documents/<id:doc>/remove/", views.ballot_document_remove, name="ballot_document_remove"),
    path("<id:pk>/edit/recipients/", views.ballot_recipients, name="ballot_recipients"),
    path("<id:pk>/issue/", views.ballot_issue, name="ballot_issue"),
    path("<id:pk>/close/", views.ballot_close, name="ballot_close"),
]
