// Starts GraphiQL on the page that server/graphiql.py renders.
//
// A file rather than an inline <script>, so the page works under `script-src 'self'`. The server
// passes its settings as data-* attributes of #graphiql. React, ReactDOM, GraphiQL and
// GraphiQLPluginExplorer are globals set by the UMD scripts loaded (deferred, in order) before
// this one.
(function () {
  "use strict";

  const container = document.getElementById("graphiql");
  const graphqlUrl = new URL(container.dataset.graphqlPath, window.location.href);
  const subscriptionUrl = new URL(graphqlUrl);
  subscriptionUrl.protocol = graphqlUrl.protocol === "https:" ? "wss:" : "ws:";

  // The query and variables live in the URL, as on Strawberry's own page, so that reloading keeps
  // them and a link shares them. Headers do not: they often hold a token.
  const parameters = new URLSearchParams(window.location.search);

  function updateURL(name, value) {
    if (value) {
      parameters.set(name, value);
    } else {
      parameters.delete(name);
    }
    const search = parameters.toString();
    window.history.replaceState(null, "", search ? "?" + search : window.location.pathname);
  }

  const fetcher = GraphiQL.createFetcher({
    url: graphqlUrl.href,
    // Subscriptions speak graphql-transport-ws to the same path on this origin, through the
    // graphql-ws client that graphiql.min.js bundles. It connects only when a subscription runs,
    // and sends the Headers tab's headers (such as Authorization) as connection_init's payload,
    // which is where the server reads the credential of a WebSocket.
    subscriptionUrl: subscriptionUrl.href,
  });

  // Created once: a new plugin object on every render would remount the explorer.
  const explorer = GraphiQLPluginExplorer.explorerPlugin();

  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      query: parameters.get("q") || container.dataset.defaultQuery,
      variables: parameters.get("variables") || undefined,
      onEditQuery: function (query) {
        updateURL("q", query);
      },
      onEditVariables: function (variables) {
        updateURL("variables", variables);
      },
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      // Kept in this browser's localStorage, so an Authorization header survives a reload.
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    }),
  );
})();
