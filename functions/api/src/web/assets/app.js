// Redress pages: progressive enhancement only. The borrower form works without this.
// Staff pages: the session of the sign-in page (/signin) lives in HttpOnly cookies this
// script never sees (it asks /signin/session who is signed in and for the CSRF token of
// its actions); a pasted bearer token lives in sessionStorage (this tab only) and is
// sent in the Authorization header; the server renders every fragment (already escaped), and
// anything built here from data uses textContent, never innerHTML.
"use strict";
(function () {
  var page = document.body.getAttribute("data-page");
  var lang = document.body.getAttribute("data-lang") || "zh";
  var zh = lang === "zh";
  var KEY = "redress.token";

  function t(en, cn) { return zh ? cn : en; }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // ---------------------------------------------------------------- borrower pages
  all("[data-counter]").forEach(function (area) {
    var out = document.getElementById(area.getAttribute("data-counter"));
    var max = parseInt(area.getAttribute("maxlength"), 10) || 0;
    function update() {
      var n = Array.from(area.value).length;
      out.textContent = n + " / " + max;
      out.classList.toggle("over", n > max);
    }
    area.addEventListener("input", update);
    update();
  });
  all("[data-print]").forEach(function (b) { b.addEventListener("click", function () { window.print(); }); });

  // ------------------------------------------------------------------- countdowns
  function countdown(ms) {
    var late = ms < 0, a = Math.abs(ms) / 1000;
    var d = Math.floor(a / 86400), h = Math.floor((a % 86400) / 3600), m = Math.floor((a % 3600) / 60);
    var span = d > 0 ? (zh ? d + " 天 " + h + " 小时" : d + " d " + h + " h")
      : h > 0 ? (zh ? h + " 小时 " + m + " 分" : h + " h " + m + " min")
      : (zh ? m + " 分钟" : m + " min");
    return late ? t("overdue by " + span, "已逾期 " + span) : t(span + " left", "剩余 " + span);
  }
  function tick() {
    all("[data-deadline]").forEach(function (el) {
      var ms = Date.parse(el.getAttribute("data-deadline")) - Date.now();
      el.textContent = countdown(ms);
      el.classList.toggle("overdue", ms <= 0);
      el.classList.toggle("soon", ms > 0 && ms < 86400000);
    });
  }
  setInterval(tick, 30000);

  if (page !== "console" && page !== "dashboard") return;

  // ---------------------------------------------------------------- staff sign-in
  function token() { return sessionStorage.getItem(KEY); }
  // The cookie session (from /signin/session): user, teams, manager, csrf_token.
  var SESSION = null;
  function authHeaders(extra) {
    var h = extra || {};
    if (token()) h.Authorization = "Bearer " + token();
    return h;
  }
  function claims(tok) {
    try {
      var p = tok.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(p))));
    } catch (e) { return null; }
  }
  function flash(text, isError) {
    var el = $("#console-message");
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
    el.classList.toggle("error", !!isError);
  }
  function signedIn() {
    var tok = token();
    var c = tok && claims(tok);
    if (!c || (c.exp && c.exp * 1000 < Date.now())) { sessionStorage.removeItem(KEY); return false; }
    $("#signin").hidden = true;
    $("#workspace").hidden = false;
    var groups = c["cognito:groups"] || [];
    $("#who").textContent = t("Signed in as ", "当前用户：") + (c.username || c["cognito:username"] || c.sub) +
      (groups.length ? " (" + groups.join(", ") + ")" : "");
    var team = groups.filter(function (g) { return g.indexOf("team-") === 0; })[0];
    var select = $("select[name=team]");
    if (team && select) select.value = team.slice(5);
    return true;
  }
  function signOut(message) {
    if (SESSION) {
      // End the cookie session on the server (the pool revokes the refresh token).
      var f = document.createElement("form");
      f.method = "post"; f.action = "/signout";
      [["csrf_token", SESSION.csrf_token], ["lang", lang]].forEach(function (kv) {
        var i = document.createElement("input"); i.type = "hidden"; i.name = kv[0]; i.value = kv[1]; f.appendChild(i);
      });
      document.body.appendChild(f); f.submit();
      return;
    }
    sessionStorage.removeItem(KEY);
    $("#workspace").hidden = true;
    $("#signin").hidden = false;
    if (message) {
      var p = $("#signin-message") || document.createElement("p");
      p.id = "signin-message"; p.className = "alert"; p.textContent = message;
      $("#signin").insertBefore(p, $("#signin").firstChild.nextSibling);
    }
  }
  $("#token-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var v = $("#token").value.trim();
    if (!claims(v)) { flash(t("That is not a sign-in token.", "这不是有效的登录令牌。"), true); return signOut(t("That is not a sign-in token.", "这不是有效的登录令牌。")); }
    sessionStorage.setItem(KEY, v);
    $("#token").value = "";
    if (signedIn()) load();
  });
  $("#signout").addEventListener("click", function () { signOut(); });

  // Cognito hosted UI (authorization code + PKCE), when the page offers it.
  var sso = $("#sso");
  function b64url(bytes) {
    return btoa(String.fromCharCode.apply(null, new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  if (sso) {
    var domain = sso.getAttribute("data-auth-domain"), client = sso.getAttribute("data-client-id");
    var redirect = location.origin + "/console/callback";
    sso.addEventListener("click", function () {
      var verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
      var state = b64url(crypto.getRandomValues(new Uint8Array(16)));
      sessionStorage.setItem("redress.pkce", verifier + " " + state);
      crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)).then(function (d) {
        location.href = domain + "/oauth2/authorize?response_type=code&client_id=" + encodeURIComponent(client) +
          "&redirect_uri=" + encodeURIComponent(redirect) + "&scope=openid+email+profile&state=" + state +
          "&code_challenge_method=S256&code_challenge=" + b64url(d);
      });
    });
    var q = new URLSearchParams(location.search);
    var saved = (sessionStorage.getItem("redress.pkce") || "").split(" ");
    if (location.pathname === "/console/callback" && q.get("code") && q.get("state") === saved[1]) {
      sessionStorage.removeItem("redress.pkce");
      fetch(domain + "/oauth2/token", {
        method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=authorization_code&client_id=" + encodeURIComponent(client) + "&code=" +
          encodeURIComponent(q.get("code")) + "&redirect_uri=" + encodeURIComponent(redirect) + "&code_verifier=" + saved[0]
      }).then(function (r) { return r.json(); }).then(function (j) {
        if (j.access_token) { sessionStorage.setItem(KEY, j.access_token); }
        location.replace("/console?lang=" + lang);
      });
      return;
    }
  }

  // Fetches a server-rendered fragment with the token.
  function fragment(url, target) {
    return fetch(url, { headers: authHeaders(), credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { signOut(t("Your sign-in has expired: sign in again.", "登录已过期，请重新登录。")); return null; }
      return r.text().then(function (html) { target.innerHTML = html; tick(); return r.status; });
    }).catch(function () { flash(t("The network is unavailable.", "网络不可用。"), true); });
  }

  // ------------------------------------------------------------------ the console
  function filterQuery(form) {
    var p = new URLSearchParams();
    all("select, input", form).forEach(function (el) {
      if (el.type === "checkbox") { if (el.checked) p.set(el.name, el.value); }
      else if (el.value) p.set(el.name, el.value);
    });
    p.set("lang", lang);
    return p;
  }
  function loadQueue(cursor) {
    var p = filterQuery($("#filters"));
    if (cursor) p.set("cursor", cursor);
    $("#ticket").innerHTML = "";
    $("#queue").hidden = false;
    return fragment("/console/queue?" + p, $("#queue"));
  }
  function loadTicket(ref) {
    $("#queue").hidden = true;
    return fragment("/console/tickets/" + encodeURIComponent(ref) + "?lang=" + lang, $("#ticket"));
  }
  function act(form) {
    var ticket = form.closest("[data-reference]");
    var ref = ticket.getAttribute("data-reference");
    var body = { action: form.getAttribute("data-action") };
    all("input, select, textarea", form).forEach(function (el) {
      if (!el.name) return;
      body[el.name] = el.name === "expected_version" ? parseInt(el.value, 10) : el.value;
    });
    // A cookie session posts to the console's route (the JSON route's authorizer reads
    // only the Authorization header), with the CSRF token.
    var cookie = SESSION && !token();
    var url = (cookie ? "/console/tickets/" : "/tickets/") + encodeURIComponent(ref) + "/actions";
    var headers = cookie ? { "x-csrf-token": SESSION.csrf_token } : authHeaders();
    headers["content-type"] = "application/json";
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        var msg = (j.message && (zh ? j.message.zh : j.message.en)) || "";
        if (r.status === 401) return signOut(t("Your sign-in has expired: sign in again.", "登录已过期，请重新登录。"));
        if (r.ok) {
          return loadTicket(ref).then(function () { flash(t("Done: ", "已完成：") + body.action); });
        }
        if (j.fields) msg += " " + j.fields.map(function (f) { return f.field + ": " + (zh ? f.message.zh : f.message.en); }).join("; ");
        if (r.status === 409) {
          // Someone else changed it, or this stage does not allow it: show why, then the ticket as it is now.
          return loadTicket(ref).then(function () {
            flash(t("Not done (conflict): ", "未执行（冲突）：") + msg, true);
            var box = $("#action-message"); if (box) { box.hidden = false; box.className = "alert"; box.textContent = msg; }
          });
        }
        flash(t("Not done: ", "未执行：") + msg, true);
      });
    });
  }
  function load() {
    if (page === "console") {
      var ref = new URLSearchParams(location.search).get("ticket");
      return ref ? loadTicket(ref) : loadQueue();
    }
    return loadReport();
  }
  if (page === "console") {
    $("#filters").addEventListener("submit", function (e) { e.preventDefault(); flash(""); loadQueue(); });
    document.addEventListener("click", function (e) {
      var a = e.target.closest("a[data-ticket]");
      if (a) { e.preventDefault(); flash(""); history.pushState(null, "", a.href); return loadTicket(a.getAttribute("data-ticket")); }
      var back = e.target.closest("a[data-back]");
      if (back) { e.preventDefault(); history.pushState(null, "", back.href); return loadQueue(); }
      var more = e.target.closest("[data-cursor]");
      if (more) { loadQueue(more.getAttribute("data-cursor")); }
    });
    document.addEventListener("submit", function (e) {
      var f = e.target.closest("form.act");
      if (f) { e.preventDefault(); flash(""); act(f); }
    });
    window.addEventListener("popstate", function () { if (token() || SESSION) load(); });
  }

  // ---------------------------------------------------------------- the dashboard
  function loadReport() {
    var p = filterQuery($("#report-filters"));
    return fragment("/dashboard/view?" + p, $("#report"));
  }
  if (page === "dashboard") {
    $("#report-filters").addEventListener("submit", function (e) { e.preventDefault(); flash(""); loadReport(); });
    document.addEventListener("click", function (e) {
      var b = e.target.closest("[data-csv]");
      if (!b) return;
      fetch(b.getAttribute("data-csv"), { headers: authHeaders({ Accept: "text/csv" }), credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.blob(); })
        .then(function (blob) {
          var a = document.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = b.getAttribute("data-filename") || "report.csv";
          document.body.appendChild(a); a.click(); a.remove();
          setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
        })
        .catch(function () { flash(t("The CSV could not be downloaded.", "CSV 下载失败。"), true); });
    });
  }

  // Signed in with the sign-in page? Otherwise the panel offers it (and the token form).
  function cookieSession() {
    return fetch("/signin/session", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return null;
      return r.json();
    }).then(function (j) {
      if (!j) {
        return;
      }
      SESSION = j;
      $("#signin").hidden = true;
      $("#workspace").hidden = false;
      $("#who").textContent = t("Signed in as ", "当前用户：") + j.user +
        (j.manager ? t(" (manager)", "（经理）") : "") + (j.teams.length ? " (" + j.teams.join(", ") + ")" : "");
      var select = $("select[name=team]");
      if (j.teams.length && select) select.value = j.teams[0];
      load();
    }).catch(function () {});
  }
  if (signedIn()) load(); else cookieSession();
})();
