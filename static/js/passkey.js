/* Passkeys (WebAuthn): registration on the security page, the second step of sign-in.
   No inline script: this file is loaded by the pages that need it and finds its elements by
   data attributes. The server (py_webauthn) makes the options and verifies the answers; the browser
   converts them with PublicKeyCredential.parse*OptionsFromJSON and credential.toJSON(). */
(function () {
  "use strict";
  if (window.ecabinetPasskeys) { return; }  // loaded once per signing form; bind once
  window.ecabinetPasskeys = true;

  function csrfToken() {
    var input = document.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function showError(message, scope) {
    var box = (scope && scope.querySelector("[data-passkey-error]")) || document.querySelector("[data-passkey-error]");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return {ok: response.ok, data: data};
      });
    });
  }

  function supported() {
    return window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON;
  }

  function failed(element) {
    return element.getAttribute("data-msg-failed") || "Passkey failed.";
  }

  function register(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var name = form.querySelector("[name=name]").value;
      if (!supported()) { showError(form.getAttribute("data-msg-unsupported")); return; }
      post(form.getAttribute("data-options-url")).then(function (answer) {
        if (!answer.ok) { throw new Error(answer.data.detail || failed(form)); }
        var options = PublicKeyCredential.parseCreationOptionsFromJSON(answer.data);
        return navigator.credentials.create({publicKey: options});
      }).then(function (credential) {
        return post(form.getAttribute("data-register-url"), {name: name, credential: credential.toJSON()});
      }).then(function (answer) {
        if (!answer.ok) { throw new Error(answer.data.detail || failed(form)); }
        window.location.assign(answer.data.redirect);
      }).catch(function (error) {
        showError(error && error.name === "NotAllowedError" ? failed(form) : (error.message || failed(form)));
      });
    });
  }

  function login(button) {
    button.addEventListener("click", function () {
      if (!supported()) { showError(button.getAttribute("data-msg-unsupported")); return; }
      post(button.getAttribute("data-options-url")).then(function (answer) {
        if (!answer.ok) { throw new Error(answer.data.detail || failed(button)); }
        var options = PublicKeyCredential.parseRequestOptionsFromJSON(answer.data);
        return navigator.credentials.get({publicKey: options});
      }).then(function (credential) {
        return post(button.getAttribute("data-verify-url"), {credential: credential.toJSON()});
      }).then(function (answer) {
        if (answer.data.redirect) { window.location.assign(answer.data.redirect); return; }
        throw new Error(answer.data.detail || failed(button));
      }).catch(function (error) {
        showError(error && error.name === "NotAllowedError" ? failed(button) : (error.message || failed(button)));
      });
    });
  }

  /* A signing form: the passkey answers instead of the code; the form is then sent with the PIN. */
  function sign(button) {
    var form = button.closest("form");
    button.addEventListener("click", function () {
      if (!supported()) { showError(button.getAttribute("data-msg-unsupported"), form); return; }
      post(button.getAttribute("data-options-url")).then(function (answer) {
        if (!answer.ok) { throw new Error(answer.data.detail || failed(button)); }
        var options = PublicKeyCredential.parseRequestOptionsFromJSON(answer.data);
        return navigator.credentials.get({publicKey: options});
      }).then(function (credential) {
        form.querySelector("[data-passkey-answer]").value = JSON.stringify(credential.toJSON());
        var code = form.querySelector("[data-otp-field]");
        if (code) { code.required = false; }
        form.requestSubmit();
      }).catch(function (error) {
        showError(error && error.name === "NotAllowedError" ? failed(button) : (error.message || failed(button)),
                  form);
      });
    });
  }

  document.querySelectorAll("form[data-passkey-register]").forEach(register);
  document.querySelectorAll("[data-passkey-sign]").forEach(sign);
  document.querySelectorAll("[data-passkey-login]").forEach(login);
}());
