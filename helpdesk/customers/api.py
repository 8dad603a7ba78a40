"""Customer API: list, read, create, update, merge, contact points. Writes go through services."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from helpdesk.api import KeysetIdPagination, get_object_by_pk, query_values
from helpdesk.customers import services
from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.customers.serializers import (
    ContactPointSerializer,
    CustomerCreateSerializer,
    CustomerFilterSerializer,
    CustomerSerializer,
    CustomerUpdateSerializer,
    MergeSerializer,
)


def _customers() -> QuerySet[Customer]:
    return Customer.objects.prefetch_related(
        Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "id"))
    )


def _detail(customer_id: int) -> Customer:
    return get_object_by_pk(_customers(), customer_id)


class CustomerListCreateApi(generics.GenericAPIView):
    serializer_class = CustomerSerializer
    pagination_class = KeysetIdPagination

    @extend_schema(
        parameters=[CustomerFilterSerializer],
        responses=CustomerSerializer(many=True),
        summary="List customers, newest first (merged-away customers are left out)",
    )
    def get(self, request):
        filters = CustomerFilterSerializer(data=query_values(request))
        filters.is_valid(raise_exception=True)
        qs = _customers().filter(merged_into__isnull=True)
        if q := filters.validated_data.get("q", "").strip():
            # EXISTS, not a join: a customer with two matching points is listed once.
            matching_point = ContactPoint.objects.filter(customer=OuterRef("pk"), value__icontains=q)
            qs = qs.filter(Q(name__icontains=q) | Exists(matching_point))
        if language := filters.validated_data.get("language"):
            qs = qs.filter(language=language)
        if tag := filters.validated_data.get("tag", "").strip().lower():
            qs = qs.filter(tags__contains=[tag])
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(CustomerSerializer(page, many=True).data)

    @extend_schema(request=CustomerCreateSerializer, responses={201: CustomerSerializer})
    def post(self, request):
        data = CustomerCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.create_customer(**data.validated_data)
        return Response(CustomerSerializer(_detail(customer.pk)).data, status=status.HTTP_201_CREATED)


class CustomerDetailApi(generics.GenericAPIView):
    serializer_class = CustomerSerializer

    @extend_schema(responses=CustomerSerializer)
    def get(self, request, pk: int):
        return Response(CustomerSerializer(_detail(pk)).data)

    @extend_schema(request=CustomerUpdateSerializer, responses=CustomerSerializer)
    def patch(self, request, pk: int):
        customer = _detail(pk)
        data = CustomerUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.update_customer(customer=customer, **data.validated_data)
        return Response(CustomerSerializer(_detail(pk)).data)


class CustomerMergeApi(generics.GenericAPIView):
    serializer_class = MergeSerializer

    @extend_schema(
        request=MergeSerializer,
        responses=CustomerSerializer,
        summary="Merge the source customer into this one (contact points, tickets and events move)",
    )
    def post(self, request, pk: int):
        target = _detail(pk)
        data = MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.merge_customers(source=data.validated_data["source"], target=target, actor=request.user)
        return Response(CustomerSerializer(_detail(pk)).data)


class ContactPointListApi(generics.GenericAPIView):
    serializer_class = ContactPointSerializer
    pagination_class = KeysetIdPagination

    @extend_schema(responses=ContactPointSerializer(many=True))
    def get(self, request, pk: int):
        customer = get_object_by_pk(Customer.objects.all(), pk)
        page = self.paginate_queryset(ContactPoint.objects.filter(customer=customer))
        return self.get_paginated_response(ContactPointSerializer(page, many=True).data)
