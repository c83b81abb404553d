"""Resource Groups Tagging API GetResources: pages hold up to TagsPerPage tags."""

from __future__ import annotations

import itertools
from typing import Any

from moto.moto_api._internal import mock_random
from moto.resourcegroupstaggingapi import models as tagging_models
from moto.resourcegroupstaggingapi.exceptions import ResourceGroupsTaggingAPIError


def install_tagging_get_resources_pages() -> None:
    """A GetResources page holds up to ResourcesPerPage resources and up to TagsPerPage tags.

    https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html:
    ResourcesPerPage is "the maximum number of results to be returned in each page" (1 to 100);
    TagsPerPage is "a limit that restricts the number of tags (key and value pairs) returned", where
    "a resource with no tags is counted as having one tag"; a resource is never split across pages,
    and "if you specify a TagsPerPage of 100 and the account has 22 resources with 10 tags each ...
    the first page displays the first 10 resources": a page may hold exactly TagsPerPage tags.

    moto 5.2.5 ends a page once the tags would *reach* TagsPerPage (``>=``; it applies 100 when the
    parameter is omitted): 99 one-tag resources a page where ResourcesPerPage=100 allows 100, and 9
    resources of 10 tags where the example above shows 10; it counts an untagged resource as none.
    Here the limit is reached, not exceeded. Parameter checks, filters and tokens stay moto's.
    """

    def get_resources(
        self: tagging_models.ResourceGroupsTaggingAPIBackend,
        pagination_token: str | None = None,
        resources_per_page: int = 50,
        tags_per_page: int = 100,
        tag_filters: list[dict[str, Any]] | None = None,
        resource_type_filters: list[str] | None = None,
        resource_arn_list: list[str] | None = None,
    ) -> tuple[str | None, list[Any]]:
        if pagination_token:
            if pagination_token not in self._pages:
                raise ResourceGroupsTaggingAPIError("PaginationTokenExpiredException", "Token does not exist")
            generator = self._pages[pagination_token]["gen"]
            left_over = self._pages[pagination_token]["misc"]
        else:
            generator = self._get_resources_generator(
                tag_filters=tag_filters,
                resource_type_filters=resource_type_filters,
                resource_arn_list=resource_arn_list,
            )
            left_over = None
        page: list[Any] = []
        tags = 0
        next_token = None
        for resource in itertools.chain([left_over] if left_over else [], generator):
            weight = max(1, len(resource.tags))  # an untagged resource counts as one tag
            if page and (len(page) >= resources_per_page or tags + weight > tags_per_page):
                next_token = str(mock_random.uuid4())
                self._pages[next_token] = {"gen": generator, "misc": resource}
                break
            page.append(resource)
            tags += weight
        if pagination_token:
            del self._pages[pagination_token]
        return next_token, page

    tagging_models.ResourceGroupsTaggingAPIBackend.get_resources = get_resources  # type: ignore[method-assign]
