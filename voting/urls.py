"""Screens of written opinion ballots, mounted at ``/ballots/`` by ``ecabinet.urls``."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.ballot_list, name="ballot_list"),
    path("new/", views.ballot_create, name="ballot_create"),
    path("<int:pk>/", views.ballot_detail, name="ballot_detail"),
    path("<int:pk>/answers/", views.ballot_answer, name="ballot_answer"),
    path("<int:pk>/documents/<int:doc>/file/", views.ballot_document_file, name="ballot_document_file"),
    path("<int:pk>/summary/", views.ballot_summary, name="ballot_summary"),
    path("<int:pk>/summary.pdf", views.ballot_summary_pdf, name="ballot_summary_pdf"),
    path("<int:pk>/edit/", views.ballot_edit, name="ballot_edit"),
    path("<int:pk>/edit/details/", views.ballot_update, name="ballot_update"),
    path("<int:pk>/edit/questions/", views.ballot_question_add, name="ballot_question_add"),
    path("<int:pk>/edit/questions/<int:question>/remove/", views.ballot_question_remove,
         name="ballot_question_remove"),
    path("<int:pk>/edit/documents/", views.ballot_document_add, name="ballot_document_add"),
    path("<int:pk>/edit/documents/<int:doc>/remove/", views.ballot_document_remove, name="ballot_document_remove"),
    path("<int:pk>/edit/recipients/", views.ballot_recipients, name="ballot_recipients"),
    path("<int:pk>/issue/", views.ballot_issue, name="ballot_issue"),
    path("<int:pk>/close/", views.ballot_close, name="ballot_close"),
]
