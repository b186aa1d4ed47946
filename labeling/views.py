from django.shortcuts import render

from . import selectors


def home(request):
    return render(request, "labeling/home.html", {"counts": selectors.dataset_counts()})
