/* Distances between schools: the one great-circle formula and Earth radius of matd, used
 * by the rota's travel cost and by support matching's "nearest first". */
#ifndef MATD_GEO_H
#define MATD_GEO_H

/* The IUGG mean Earth radius, in km. */
#define GEO_EARTH_RADIUS_KM 6371.0088

/* Great-circle (haversine) distance in km between two points in decimal degrees. */
double geo_haversine_km(double lat1, double lon1, double lat2, double lon2);

#endif
