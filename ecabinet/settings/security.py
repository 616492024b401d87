"""Settings of issue 15's security work: web hardening (HTTPS, headers, CSP, session lifetime), multi-factor
sign-in, devices and their API tokens, and the lockout of failed sign-ins and signing PINs.

docs/security.md explains each; README "Production settings" says what a production installation sets.
"""

from csp.constants import NONCE, NONE, SELF

from ecabinet.settings.environment import env, envbool, envint

# --- Web hardening (issue 15, area "harden"; docs/security.md "Web hardening", README "Production settings") ---
# HTTPS: behind the TLS proxy (deploy/nginx) set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO (nginx
# overwrites that header with its own scheme, so a caller cannot forge it), then the redirect, HSTS and
# Secure cookies. `manage.py check --deploy` is clean with the values in deploy/systemd/env.example.
_proxy_ssl_header = env("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https") if _proxy_ssl_header else None
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "False")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "False")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "False")
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", env("SECURE_COOKIES", "False"))  # SECURE_COOKIES: both
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", str(SESSION_COOKIE_SECURE))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # the document and ballot file views allow their own site (ecabinet.hardening.framed_by_self)
# Powerful browser features no screen uses are switched off; passkeys (WebAuthn) and fullscreen reading stay ours.
PERMISSIONS_POLICY = ", ".join([*(f"{f}=()" for f in (
    "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "geolocation", "gyroscope",
    "hid", "magnetometer", "microphone", "midi", "payment", "picture-in-picture", "screen-wake-lock", "serial",
    "usb", "xr-spatial-tracking")), "fullscreen=(self)", "publickey-credentials-create=(self)",
    "publickey-credentials-get=(self)"])
# Content-Security-Policy (django-csp): scripts only from this site and with the page's nonce, no inline
# style, no plugin, no framing but of our own files. CSP_REPORT_ONLY=true sends it as ...-Report-Only
# (a rollout: the browser reports, blocks nothing); CSP_REPORT_URI names where reports go.
_csp = {"DIRECTIVES": {
    "default-src": [SELF], "script-src": [SELF, NONCE], "style-src": [SELF], "img-src": [SELF, "data:", "blob:"],
    "font-src": [SELF], "connect-src": [SELF], "frame-src": [SELF], "object-src": [NONE], "base-uri": [NONE],
    "frame-ancestors": [NONE], "form-action": [SELF], "report-uri": env("CSP_REPORT_URI", "") or None}}
_csp_report_only = envbool("CSP_REPORT_ONLY", "False")  # (a CSP_* Django setting would be django-csp 3's)
CONTENT_SECURITY_POLICY = None if _csp_report_only else _csp
CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp if _csp_report_only else None
# Sessions: at most SESSION_MAX_HOURS after sign-in, and ended after SESSION_IDLE_MINUTES without a request
# or, while the live room is open, a heartbeat of its socket (ecabinet.idle; docs/limits.md). The last-seen
# mark is written at most once a minute.
SESSION_COOKIE_AGE = envint("SESSION_MAX_HOURS", "12") * 3600
SESSION_IDLE_MINUTES = envint("SESSION_IDLE_MINUTES", "30")
# --- end of web hardening ---

# --- issue 15, area "mfa": multi-factor sign-in (docs/security.md "Multi-factor sign-in"; docs/limits.md) ---
# MFA_ENFORCE on: a user with one of MFA_REQUIRED_ROLES who has no second factor is sent to enrol
# after the password and gets no API token (401 mfa_enrolment_required). Off (default, the demo):
# a second factor is asked only of those who enrolled one. Roles: participant (any session role:
# chair, member, substitute, observer, secretary), member, secretariat, archivist, staff (admin).
MFA_ENFORCE = envbool("MFA_ENFORCE", "False")
MFA_REQUIRED_ROLES = [r.strip() for r in env("MFA_REQUIRED_ROLES", "participant,member,secretariat,archivist,staff")
                      .split(",") if r.strip()]
MFA_PENDING_SECONDS = envint("MFA_PENDING_SECONDS", "300")  # password accepted, second factor awaited
MFA_PENDING_MAX_ATTEMPTS = envint("MFA_PENDING_MAX_ATTEMPTS", "5")  # wrong codes before the password again
MFA_REAUTH_SECONDS = envint("MFA_REAUTH_SECONDS", "600")  # a sign-in this recent proves the owner (ecabinet.reauth)
MFA_RECOVERY_CODES = 10
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "e-Cabinet")
WEBAUTHN_RP_ID = env("WEBAUTHN_RP_ID", "")  # default: the request's host name
WEBAUTHN_RP_NAME = env("WEBAUTHN_RP_NAME", "e-Cabinet")
# Exact origins accepted in a passkey ceremony; default: the request's own scheme://host[:port].
WEBAUTHN_ORIGINS = [o.strip() for o in env("WEBAUTHN_ORIGINS", "").split(",") if o.strip()]
# --- end of area "mfa" ---

# --- Devices and tokens (issue 15, area "devices"; ecabinet/devices.py, docs/security.md) ---------
# An API token expires API_TOKEN_IDLE_DAYS after its last use (sliding, refreshed at most once every
# API_TOKEN_REFRESH_SECONDS) and API_TOKEN_MAX_DAYS after sign-in whatever its use; an account holds
# at most API_MAX_DEVICES_PER_USER live tokens.
API_TOKEN_IDLE_DAYS = envint("API_TOKEN_IDLE_DAYS", "14")
API_TOKEN_MAX_DAYS = envint("API_TOKEN_MAX_DAYS", "90")
API_TOKEN_REFRESH_SECONDS = envint("API_TOKEN_REFRESH_SECONDS", "300")
API_MAX_DEVICES_PER_USER = envint("API_MAX_DEVICES_PER_USER", "20")
# --- end of area "devices" -------------------------------------------------------------------------

# --- Issue 15, area "lockout": failed sign-ins and signing PINs (ecabinet/lockout.py; docs/security.md,
# "Sign-in throttling and lockout"; docs/limits.md). django-axes with ecabinet.lockout's handler: failures
# only (never successes) are counted in Django's cache (CACHES in ecabinet.settings; Redis: shared by every
# process), per account typed and per client address, on the login screen, the admin login and
# POST /api/v1/auth/token; wrong signing PINs per signer. Reaching a limit locks for LOCKOUT_COOLOFF_MINUTES
# (each failure keeps the count LOCKOUT_COOLOFF_MINUTES longer); 0 switches a limit off. TRUSTED_PROXIES:
# addresses/networks of the proxies whose X-Forwarded-For is believed (with API_NUM_PROXIES > 0).
LOCKOUT_ACCOUNT_FAILURES = envint("LOCKOUT_ACCOUNT_FAILURES", "30")
LOCKOUT_ADDRESS_FAILURES = envint("LOCKOUT_ADDRESS_FAILURES", "100")
LOCKOUT_PIN_FAILURES = envint("LOCKOUT_PIN_FAILURES", "5")
LOCKOUT_COOLOFF_MINUTES = envint("LOCKOUT_COOLOFF_MINUTES", "15")
TRUSTED_PROXIES = [p.strip() for p in env("TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if p.strip()]
AXES_HANDLER = "ecabinet.lockout.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "ecabinet.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "ecabinet.lockout.lockout_response"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = LOCKOUT_ACCOUNT_FAILURES  # axes' own; the handler applies each limit
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # attempts refused during a lock do not lengthen it
AXES_ENABLE_ADMIN = False  # its tables stay empty: the counters are in the cache
AXES_VERBOSE = False
# --- end of area "lockout" ---
