// shop/share.js - the page of a share link (GET /s/{code}, which the
// server builds with the offer in its Open Graph tags for chat apps):
// a browser goes straight on to the campaign in the app, by the page's
// own link, which carries the code (?share=) for the join. Without
// script the link does the same when tapped.
const link = document.querySelector('main[data-share-code] a.button');
if (link) location.replace(link.getAttribute('href'));
