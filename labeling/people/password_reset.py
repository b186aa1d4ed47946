"""Password reset by mail (Django's pages), off unless an operator configures mail (settings.PASSWORD_RESET_ENABLED:
EMAIL_URL set). When on:

* the page answers the same, in the same time, whether an account has the address or not: it looks nobody up and
  hands the address to the worker (labeling.tasks.send_password_reset), which finds the accounts and mails them;
* requests are limited per address and per client IP (PASSWORD_RESET_PER_HOUR, in the cache: Redis when
  REDIS_URL is set, else each process's own memory), answered 429 beyond.

Off, every reset page is a 404 (the login page and password change stay)."""
import hashlib

from celery import current_app
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import cache
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path

SEND = "labeling.tasks.send_password_reset"
WINDOW_SECONDS = 3600


class _Enabled:
    def dispatch(self, request, *args, **kwargs):
        if not settings.PASSWORD_RESET_ENABLED:
            raise Http404("password reset by mail is not configured on this site")
        return super().dispatch(request, *args, **kwargs)


def _over_limit(*keys: str) -> bool:
    """Count this request against each key (one window per hour); whether any is over the limit."""
    over = False
    for key in keys:
        cache.add(key, 0, WINDOW_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, WINDOW_SECONDS)
            count = 1
        over = over or count > settings.PASSWORD_RESET_PER_HOUR
    return over


class RequestReset(_Enabled, auth_views.PasswordResetView):
    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        digest = hashlib.sha256(email.encode()).hexdigest()[:32]  # no address in a cache key
        if _over_limit(f"pwreset:ip:{self.request.META.get('REMOTE_ADDR', '')}", f"pwreset:to:{digest}"):
            return render(self.request, "registration/password_reset_throttled.html", status=429)
        current_app.tasks[SEND].delay(email, self.request.get_host(), self.request.is_secure())
        return HttpResponseRedirect(self.get_success_url())


def send_reset_mail(email: str, domain: str, use_https: bool) -> None:
    """The worker's side: mail a reset link to each active account with this address (Django's form and
    templates; none: nothing)."""
    form = PasswordResetForm({"email": email})
    if form.is_valid():
        form.save(domain_override=domain, use_https=use_https)


class ResetDone(_Enabled, auth_views.PasswordResetDoneView):
    pass


class ResetConfirm(_Enabled, auth_views.PasswordResetConfirmView):
    pass


class ResetComplete(_Enabled, auth_views.PasswordResetCompleteView):
    pass


urlpatterns = [
    path("password_reset/", RequestReset.as_view(), name="password_reset"),
    path("password_reset/done/", ResetDone.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", ResetConfirm.as_view(), name="password_reset_confirm"),
    path("reset/done/", ResetComplete.as_view(), name="password_reset_complete"),
]
