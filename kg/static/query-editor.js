// The query page, enhanced: YASGUI (kg/static/vendor/yasgui) edits the query and shows its answer as a
// sortable, paged table (or the raw response), with the time it took. Without JavaScript, or if YASGUI
// did not load, the page's plain form works as it is. Everything is asked of this server only: queries
// go to its endpoint by POST (no URL length limit), completion comes from /query/terms.json, and
// YASGUI's endpoint catalogue and remote completion service are switched off.
(function () {
  "use strict";
  var form = document.querySelector("form.editor");
  var holder = document.getElementById("editor-config");
  if (!form || !holder || typeof window.Yasgui === "undefined") {
    return;
  }
  var config = JSON.parse(holder.textContent);
  var Yasqe = window.Yasgui.Yasqe;
  var vocabulary = null;
  function terms() {
    if (vocabulary === null) {
      vocabulary = fetch(config.terms, { headers: { Accept: "application/json" } }).then(function (r) {
        return r.ok ? r.json() : { classes: [], properties: [] };
      });
    }
    return vocabulary;
  }
  // the ontology's classes and properties, from the graph itself, in place of Linked Open Vocabularies
  Yasqe.forkAutocompleter("class", { name: "graph-classes", bulk: true, persistenceId: null,
    get: function () { return terms().then(function (t) { return t.classes; }); } });
  Yasqe.forkAutocompleter("property", { name: "graph-properties", bulk: true, persistenceId: null,
    get: function () { return terms().then(function (t) { return t.properties; }); } });
  Yasqe.defaults.autocompleters = Yasqe.defaults.autocompleters.filter(function (name) {
    return name !== "class" && name !== "property";
  });

  var element = document.createElement("div");
  element.id = "yasgui";
  form.parentNode.insertBefore(element, form);
  form.hidden = true;
  var plain = document.getElementById("plain-result");
  if (plain) {
    plain.hidden = true; // YASGUI shows the answer
  }
  var yasgui = new window.Yasgui(element, {
    requestConfig: { endpoint: config.endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: { getData: function () { return []; } },
    persistenceId: null,
    populateFromUrl: false,
    autofocus: true,
    yasr: { prefixes: config.prefixes },
  });
  // YASGUI's own controls have no labels: each gets an accessible name, now and as YASGUI adds more
  function nameControl(control) {
    if ((control.labels && control.labels.length) || control.getAttribute("aria-label")) {
      return;
    }
    var around = control.parentNode ? control.parentNode.textContent : "";
    var name = control.placeholder || control.title;
    if (!name && control.tagName === "TEXTAREA") {
      name = "SPARQL query";
    } else if (!name && control.classList.contains("autocomplete")) {
      name = "SPARQL endpoint";
    } else if (!name && control.classList.contains("tableSizer")) {
      name = "Rows per page";
    } else if (!name && control.tagName === "SELECT") {
      name = around.indexOf("Construct") >= 0 ? "Format of graph answers" : "Format of table answers";
    } else if (!name) {
      name = "Tab name";
    }
    control.setAttribute("aria-label", name);
  }
  function nameControls() {
    element.querySelectorAll("input, select, textarea").forEach(nameControl);
  }
  new MutationObserver(nameControls).observe(element, { childList: true, subtree: true });
  nameControls();
  var tab = yasgui.getTab();
  tab.setQuery(config.query);
  tab.getYasqe().addPrefixes(config.prefixes);
  if (config.run) {
    tab.query();
  }
  // the graph's own things open on this server's pages (/id/... answers 303 to /doc/...), not at their IRI
  element.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest(".yasr a[href]") : null;
    var href = link ? link.getAttribute("href") : "";
    if (href && href.indexOf(config.minted) === 0) {
      event.preventDefault();
      window.location.assign(config.local + href.slice(config.minted.length));
    }
  });
  // the saved queries open in the editor in place of a page load
  document.querySelectorAll("a[data-query]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      tab.setQuery(link.getAttribute("data-query"));
      element.scrollIntoView();
    });
  });
})();
