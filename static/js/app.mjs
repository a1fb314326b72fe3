import { initAll } from '/static/govuk/govuk-frontend.min.js'

initAll()

// htmx posts carry the CSRF token from the cookie-independent meta-free form field.
document.body.addEventListener('htmx:configRequest', (event) => {
  const token = document.querySelector('input[name=csrfmiddlewaretoken]')
  if (token) event.detail.headers['X-CSRFToken'] = token.value
})
