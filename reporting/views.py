from django.http import Http404

# Placeholder until this module is written.


def _missing(request, *args, **kwargs):
    raise Http404


dashboard = drilldown = recalculate = _missing
